"""Engines, connection set-up and migrations for the SQL store; used by `sql.open_store`.

SQLite: WAL, a busy timeout, foreign keys on, and transactions begun by us so that writers
take the database lock up front (`BEGIN IMMEDIATE`): that is what serialises audit appends
and approval decisions across processes. Beside the async engine (migrations) SQLite gets a
plain sync engine: the store runs each method's whole transaction on it in one worker-thread
hop, instead of several hops per statement through aiosqlite. PostgreSQL: psycopg 3 async,
with advisory locks taken by the callers that need them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from opsgate.errors import ConfigError, StoreError, truncate

Backend = Literal["sqlite", "postgresql"]

# Keys for pg_advisory_xact_lock: one per serialised kind of write.
AUDIT_LOCK_KEY = 0x6F70_7367_6175_6469  # "opsgaudi"
EVENTS_LOCK_KEY = 0x6F70_7367_6576_6E74  # "opsgevnt"
MIGRATION_LOCK_KEY = 0x6F70_7367_6D69_6772  # "opsgmigr"
CHECKPOINT_SETUP_LOCK_KEY = 0x6F70_7367_636B_7074  # "opsgckpt": the engine's checkpointer

SESSION_LOCK_POLL_S = 0.1
SQLITE_BUSY_TIMEOUT_MS = 30_000
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "opsgate_schema_version"
"""The table Alembic keeps the database's revision in (`migrations/env.py`)."""


@dataclass(frozen=True)
class Engines:
    """One pool, two views: plain reads, and writes that lock the database up front."""

    backend: Backend
    read: AsyncEngine
    write: AsyncEngine
    sqlite_path: str | None = None
    """The SQLite file, for the plain sqlite3 audit path (`sqlite_audit`)."""
    sync_read: Engine | None = None
    """SQLite only: the sync engine the store's methods run on in a worker thread."""
    sync_write: Engine | None = None
    """SQLite only: `sync_read` with writes beginning `BEGIN IMMEDIATE`."""

    async def dispose(self) -> None:
        await self.read.dispose()
        if self.sync_read is not None:
            self.sync_read.dispose()


def configure_sqlite(dbapi_connection: Any) -> None:
    """WAL, busy timeout, foreign keys, NORMAL sync; for every SQLite connection we open."""
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "PRAGMA foreign_keys=ON",
        # WAL + NORMAL: no corruption on power loss, at most the last commits are lost.
        "PRAGMA synchronous=NORMAL",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" hook emit BEGIN itself instead of the driver's lazy BEGIN.
    dbapi_connection.isolation_level = None
    configure_sqlite(dbapi_connection)


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("opsgate_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engines(url: str) -> Engines:
    """Create the engine for `url`; for SQLite, create the file's directory first."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername != "sqlite+aiosqlite":
            raise ConfigError(
                f"SQLite URLs must use the aiosqlite driver, got {parsed.drivername!r}"
            )
        database = parsed.database
        if not database or database == ":memory:":
            raise ConfigError("the SQLite store needs a file path (sqlite+aiosqlite:///path/db)")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = create_async_engine(url, connect_args=connect_args)
        sync = create_engine(parsed.set(drivername="sqlite+pysqlite"), connect_args=connect_args)
        for target in (engine.sync_engine, sync):
            event.listen(target, "connect", _sqlite_connect)
            event.listen(target, "begin", _sqlite_begin)
        return Engines(
            "sqlite",
            engine,
            engine.execution_options(opsgate_immediate=True),
            database,
            sync,
            sync.execution_options(opsgate_immediate=True),
        )
    if backend == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            raise ConfigError(
                f"PostgreSQL URLs must use psycopg 3 (postgresql+psycopg://), "
                f"got {parsed.drivername!r}"
            )
        engine = create_async_engine(url, pool_pre_ping=True)
        return Engines("postgresql", engine, engine)
    raise ConfigError(f"unsupported database backend {backend!r}")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest migration revision this version of opsgate ships."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The migration revision the database is at (None: never migrated)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _upgrade(connection: Connection, audit_key: bytes) -> None:
    config = _config()
    config.attributes["connection"] = connection
    # Revision 0002 signs the audit head record it creates.
    config.attributes["audit_key"] = audit_key
    command.upgrade(config, "head")


async def migrate(engines: Engines, audit_key: bytes) -> None:
    """Apply every pending revision; concurrent openers wait for each other."""
    async with engines.write.begin() as conn:
        if engines.backend == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        await conn.run_sync(_upgrade, audit_key)


@asynccontextmanager
async def session_lock(conninfo: str, key: int) -> AsyncIterator[None]:
    """Hold PostgreSQL advisory lock `key` on a connection of its own while the body runs.

    Waiters poll `pg_try_advisory_lock` instead of blocking in `pg_advisory_lock`: a
    statement blocked inside a transaction would stall a `CREATE INDEX CONCURRENTLY` the
    holder runs (it waits for every open transaction), a deadlock PostgreSQL then breaks.
    """
    import psycopg  # PostgreSQL only: a SQLite deployment never pays for importing it

    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    except psycopg.Error as e:
        raise StoreError(f"could not connect to PostgreSQL: {truncate(str(e), 300)}") from e
    async with conn:
        while True:
            cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            row = await cursor.fetchone()
            if row is not None and row[0]:
                break
            await asyncio.sleep(SESSION_LOCK_POLL_S)
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
