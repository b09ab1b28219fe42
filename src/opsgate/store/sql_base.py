"""The shared core of `SqlStore`: engines, transactions, error wrapping, ids, the clock.

`sql_calls.CallsStore` and `sql.SqlStore` build on it; nothing else uses it directly. Each
store method hands its whole unit of work, a sync function of a `Connection`, to `_write` or
`_read`. SQLite runs it on the sync engine in one worker-thread hop (writes all on one writer
thread, which the audit appends share); PostgreSQL runs it on the async engine through
`AsyncConnection.run_sync`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from opsgate.domain.audit import AuditEvent
from opsgate.errors import ConfigError, Conflict, OpsgateError, StoreError, truncate
from opsgate.settings import MIN_KEY_BYTES
from opsgate.store import audit_log, db, sqlite_audit
from opsgate.store.driver_sql import SaDriverSql
from opsgate.store.ids import IdFactory
from opsgate.store.records import NewAuditEvent

T = TypeVar("T")
Work = Callable[[Connection], T]


def brief(error: SQLAlchemyError) -> str:
    """The driver's one-line message; the statement and parameters may hold secrets."""
    origin = getattr(error, "orig", None)
    return truncate(str(origin if origin is not None else error).splitlines()[0], 300)


def check_audit_key(audit_key: bytes) -> bytes:
    """The audit key, refused when too short to stop anyone guessing it (for callers that do
    not take it from `Settings.key`, which refuses short keys itself)."""
    if len(audit_key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"audit_key must be at least {MIN_KEY_BYTES} bytes, got {len(audit_key)} "
            "(leave OPSGATE_AUDIT_KEY unset to have one generated into the data directory)"
        )
    return audit_key


def _fernet(secret_key: bytes) -> Fernet:
    if len(secret_key) < 16:
        raise StoreError("secret_key must be at least 16 bytes")
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"opsgate jenkins tokens"
    ).derive(secret_key)
    return Fernet(base64.urlsafe_b64encode(derived))


def _in_transaction(engine: Engine, work: Work[T]) -> T:
    with engine.begin() as conn:
        return work(conn)


def _in_connection(engine: Engine, work: Work[T]) -> T:
    with engine.connect() as conn:
        return work(conn)


class SqlBase:
    """Holds the engines and runs units of work in read and write transactions."""

    def __init__(self, engines: db.Engines, secret_key: bytes, audit_key: bytes) -> None:
        self._engines = engines
        self._fernet = _fernet(secret_key)
        self._audit_key = audit_key
        self._ids = IdFactory()
        self._writer: ThreadPoolExecutor | None = None
        self._sqlite_audit: sqlite_audit.SqliteAuditLog | None = None
        if engines.sqlite_path is not None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsgate-db")
            self._sqlite_audit = sqlite_audit.SqliteAuditLog(
                engines.sqlite_path, self._writer, audit_key
            )

    @property
    def backend(self) -> db.Backend:
        return self._engines.backend

    @property
    def shared(self) -> bool:
        """Several opsgate processes may write this database (PostgreSQL)."""
        return self._engines.backend == "postgresql"

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
        if self._sqlite_audit is not None:
            self._sqlite_audit.close()
        await self._engines.dispose()

    async def schema_revision(self) -> str | None:
        """The migration revision the database is at (`db.head_revision()` once migrated)."""
        return await self._read(db.current_revision)

    async def _write(self, work: Work[T]) -> T:
        """Run `work` in a transaction holding the write lock (SQLite: BEGIN IMMEDIATE)."""
        try:
            sync = self._engines.sync_write
            if sync is not None and self._writer is not None:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._writer, _in_transaction, sync, work)
            async with self._engines.write.begin() as conn:
                return await conn.run_sync(work)
        except OpsgateError:
            raise
        except IntegrityError as e:
            raise Conflict(f"the change conflicts with existing data: {brief(e)}") from e
        except SQLAlchemyError as e:
            raise StoreError(f"database write failed: {brief(e)}") from e

    async def _read(self, work: Work[T]) -> T:
        """Run `work` on a connection whose statements share one read transaction."""
        try:
            sync = self._engines.sync_read
            if sync is not None:
                return await asyncio.to_thread(_in_connection, sync, work)
            async with self._engines.read.connect() as conn:
                return await conn.run_sync(work)
        except OpsgateError:
            raise
        except SQLAlchemyError as e:
            raise StoreError(f"database read failed: {brief(e)}") from e

    def _append_audit_in(
        self, conn: Connection, events: Sequence[NewAuditEvent]
    ) -> list[AuditEvent]:
        """Append audit events inside the caller's write transaction, keyed with the audit key
        (`write_batch`, `decide`, and PostgreSQL's `append_audit_many`)."""
        return audit_log.append_many(SaDriverSql(conn), self.backend, events, self._audit_key)

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)
