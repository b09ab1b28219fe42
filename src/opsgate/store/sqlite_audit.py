"""Audit appends and verification on SQLite through one plain sqlite3 connection per store.

`SqlStore` uses it on SQLite only: the hot append path then costs one hop to its own thread
and a few native sqlite3 calls, instead of a thread hop per statement through aiosqlite and
SQLAlchemy. Appends still begin with `BEGIN IMMEDIATE`, the database lock that keeps one chain
across processes; a threading lock keeps this process's threads off the shared connection.
The writer thread is the store's: its other SQLite writes queue on the same thread (`sql_base`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from opsgate.domain.audit import AuditEvent
from opsgate.errors import Conflict, OpsgateError, StoreError, truncate
from opsgate.store import audit_log, audit_verify, db
from opsgate.store.records import ChainVerification, NewAuditEvent


class _Sqlite3Sql:
    """`driver_sql.DriverSql` over a sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def rows(self, statement: str) -> Sequence[Sequence[Any]]:
        return self._cursor.execute(statement).fetchall()

    def execute(self, statement: str, params: Any) -> None:
        self._cursor.execute(statement, params)

    def execute_many(self, statement: str, rows: list[Any]) -> None:
        self._cursor.executemany(statement, rows)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path,
        timeout=db.SQLITE_BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
    )
    db.configure_sqlite(conn)
    return conn


class SqliteAuditLog:
    """Audit operations for one SQLite file, run off the event loop."""

    def __init__(self, path: str, writer: ThreadPoolExecutor, audit_key: bytes) -> None:
        self._path = path
        self._key = audit_key
        self._conn = _connect(path)
        self._lock = threading.Lock()
        # One thread (the store's writer, shut down by the store) runs every write of this
        # process: they queue up there instead of contending for the database lock.
        self._appender = writer

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    async def append(self, events: Sequence[NewAuditEvent]) -> list[AuditEvent]:
        """Append `events` as one transaction under the database write lock."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._appender, self._append_blocking, events)

    async def verify(self) -> ChainVerification:
        """Recompute the chain on a connection and thread of its own (appends go on)."""
        return await asyncio.to_thread(self._verify_blocking)

    def _append_blocking(self, events: Sequence[NewAuditEvent]) -> list[AuditEvent]:
        try:
            with self._lock:
                cursor = self._conn.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    appended = audit_log.append_many(
                        _Sqlite3Sql(cursor), "sqlite", events, self._key
                    )
                    cursor.execute("COMMIT")
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                return appended
        except OpsgateError:
            raise
        except sqlite3.IntegrityError as e:
            raise Conflict(f"the audit append conflicts with existing data: {_brief(e)}") from e
        except sqlite3.Error as e:
            raise StoreError(f"audit append failed: {_brief(e)}") from e

    def _verify_blocking(self) -> ChainVerification:
        try:
            conn = _connect(self._path)
            try:
                cursor = conn.cursor()
                cursor.execute("BEGIN")
                return audit_verify.verify_chain(_Sqlite3Sql(cursor), self._key)
            finally:
                conn.close()
        except sqlite3.Error as e:
            raise StoreError(f"audit verification failed: {_brief(e)}") from e


def _brief(error: sqlite3.Error) -> str:
    return truncate(str(error), 300)
