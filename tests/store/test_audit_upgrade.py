"""A database written before the audit key (schema 0001, plain SHA-256 chain) opens, keeps
working, verifies, and says which events predate the key (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, insert, make_url

from opsgate.domain.audit import GENESIS_HASH, chain_hash
from opsgate.domain.canonical import canonical_json
from opsgate.store import audit_export, db, sql, tables
from opsgate.store.sql import SqlStore
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY, PostgresServer, RawSql, raw_sql_on

LEGACY_EVENTS = 6
_numbers = itertools.count(1)


def _legacy_rows(count: int) -> list[dict[str, object]]:
    """Events as the code before the audit key wrote them: no `tool` in the hash, no mac."""
    rows, prev_hash = [], GENESIS_HASH
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    for seq in range(1, count + 1):
        payload = {"tool": "k8s_get", "n": seq}
        at = start + timedelta(seconds=seq, microseconds=seq)
        digest = chain_hash(
            seq=seq,
            at=at,
            actor_id=None,
            actor_name="engine",
            kind="tool.finished",
            conversation_id="cnv_old",
            run_id="run_old",
            call_id=None,
            tool="k8s_get",
            payload=payload,
            prev_hash=prev_hash,
            legacy=True,
        )
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor_id": None,
                "actor_name": "engine",
                "kind": "tool.finished",
                "conversation_id": "cnv_old",
                "run_id": "run_old",
                "call_id": None,
                "tool": "k8s_get",
                "payload": canonical_json(payload),
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    return rows


def _write_schema_0001_with_events(url: str) -> None:
    sync_url = make_url(url)
    if sync_url.drivername == "sqlite+aiosqlite":
        sync_url = sync_url.set(drivername="sqlite+pysqlite")
    engine = create_engine(sync_url)
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(db.MIGRATIONS_DIR))
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
            # The parameters name the 0001 columns only, so the statement has no `mac`.
            conn.execute(insert(tables.audit_log), _legacy_rows(LEGACY_EVENTS))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def legacy_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at schema 0001 holding a plain SHA-256 chain of LEGACY_EVENTS events."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        _write_schema_0001_with_events(url)
        yield url
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"legacy{os.getpid()}_{next(_numbers)}"
    with server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        _write_schema_0001_with_events(server.url(name))
        yield server.url(name)
    finally:
        with server.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def upgraded(legacy_url: str) -> AsyncIterator[SqlStore]:
    """The legacy database opened (and so migrated) by today's store."""
    store = await sql.open_store(legacy_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def legacy_raw_sql(legacy_url: str) -> RawSql:
    return raw_sql_on(legacy_url)


async def test_an_upgraded_log_verifies_and_names_the_events_older_than_the_key(
    upgraded: SqlStore,
) -> None:
    verification = await upgraded.verify_audit()
    assert (verification.ok, verification.checked) == (True, LEGACY_EVENTS)
    assert verification.unkeyed_range == (1, LEGACY_EVENTS)
    head = await upgraded.get_audit_head()
    assert head is not None
    assert (head.seq, head.keyed_from) == (LEGACY_EVENTS, LEGACY_EVENTS + 1)


async def test_an_upgraded_log_keeps_working_and_keys_new_events(upgraded: SqlStore) -> None:
    old = await upgraded.list_audit()
    assert [(e.seq, e.mac, e.tool) for e in old] == [
        (seq, None, "k8s_get") for seq in range(1, LEGACY_EVENTS + 1)
    ]
    new = await upgraded.append_audit("verify", {"ok": True}, actor_id=None, actor_name="engine")
    assert (new.seq, new.prev_hash) == (LEGACY_EVENTS + 1, old[-1].hash)
    assert new.mac is not None
    verification = await upgraded.verify_audit()
    assert (verification.ok, verification.checked) == (True, LEGACY_EVENTS + 1)
    assert verification.unkeyed_range == (1, LEGACY_EVENTS)
    out = io.StringIO()
    await audit_export.export_audit(upgraded, out)
    lines = out.getvalue().splitlines()
    assert "mac" not in lines[0]
    exported = audit_export.verify_export_lines(lines, complete=True, key=AUDIT_KEY)
    assert (exported.ok, exported.unkeyed_range) == (True, (1, LEGACY_EVENTS))


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ('UPDATE audit_log SET payload = \'{"n":9,"tool":"k8s_get"}\' WHERE seq = 3', "hash"),
        ("UPDATE audit_log SET tool = 'helm_uninstall' WHERE seq = 3", "tool column"),
        (
            "UPDATE audit_log SET payload = '{\"n\":9,' || substr(payload, 2) WHERE seq = 3",
            "duplicate key 'n'",
        ),
        ("UPDATE audit_log SET mac = hash WHERE seq = 3", "carries an HMAC"),
    ],
)
async def test_events_older_than_the_key_are_still_checked(
    upgraded: SqlStore, legacy_raw_sql: RawSql, statement: str, reason: str
) -> None:
    if upgraded.backend == "postgresql":
        await legacy_raw_sql("DROP TRIGGER audit_log_append_only ON audit_log")
    else:
        await legacy_raw_sql("DROP TRIGGER audit_log_no_update")
    await legacy_raw_sql(statement)
    verification = await upgraded.verify_audit()
    assert (verification.ok, verification.first_broken_seq) == (False, 3)
    assert reason in (verification.reason or "")
