"""The shared core of `SqlStore`: engines, transactions, error wrapping, ids, the clock.

`sql_calls.CallsStore` and `sql.SqlStore` build on it; nothing else uses it directly.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from opsgate.errors import Conflict, OpsgateError, StoreError, truncate
from opsgate.store import db, sqlite_audit
from opsgate.store.ids import IdFactory


def brief(error: SQLAlchemyError) -> str:
    """The driver's one-line message; the statement and parameters may hold secrets."""
    origin = getattr(error, "orig", None)
    return truncate(str(origin if origin is not None else error).splitlines()[0], 300)


def _fernet(secret_key: bytes) -> Fernet:
    if len(secret_key) < 16:
        raise StoreError("secret_key must be at least 16 bytes")
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"opsgate jenkins tokens"
    ).derive(secret_key)
    return Fernet(base64.urlsafe_b64encode(derived))


class SqlBase:
    """Holds the engines and opens read and write transactions."""

    def __init__(self, engines: db.Engines, secret_key: bytes) -> None:
        self._engines = engines
        self._fernet = _fernet(secret_key)
        self._ids = IdFactory()
        self._sqlite_audit = (
            sqlite_audit.SqliteAuditLog(engines.sqlite_path) if engines.sqlite_path else None
        )

    @property
    def backend(self) -> db.Backend:
        return self._engines.backend

    async def close(self) -> None:
        if self._sqlite_audit is not None:
            self._sqlite_audit.close()
        await self._engines.dispose()

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction holding the write lock (SQLite: BEGIN IMMEDIATE)."""
        try:
            async with self._engines.write.begin() as conn:
                yield conn
        except OpsgateError:
            raise
        except IntegrityError as e:
            raise Conflict(f"the change conflicts with existing data: {brief(e)}") from e
        except SQLAlchemyError as e:
            raise StoreError(f"database write failed: {brief(e)}") from e

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engines.read.connect() as conn:
                yield conn
        except OpsgateError:
            raise
        except SQLAlchemyError as e:
            raise StoreError(f"database read failed: {brief(e)}") from e

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)
