"""Opening a store: migrations at open, reopening, bad URLs, ids, times in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from opsgate.errors import ConfigError, StoreError
from opsgate.store import sql
from opsgate.store.ids import IdFactory
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY


async def test_reopening_keeps_data_and_extends_the_chain(store_url: str) -> None:
    first = await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    try:
        await first.create_user("alice", "admin", None)
        await first.append_audit(
            "user.created", {"username": "alice"}, actor_id=None, actor_name="engine"
        )
    finally:
        await first.close()
    second = await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    try:
        assert (await second.get_user_by_name("alice")).role == "admin"
        event = await second.append_audit("user.login", {}, actor_id=None, actor_name="alice")
        assert event.seq == 2
        assert (await second.verify_audit()).checked == 2
    finally:
        await second.close()


async def test_sqlite_store_creates_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "opsgate.db"
    store = await sql.open_store(
        f"sqlite+aiosqlite:///{path}", secret_key=SECRET_KEY, audit_key=AUDIT_KEY
    )
    try:
        assert await store.count_users() == 0
    finally:
        await store.close()
    assert path.exists()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.db",
        "sqlite+aiosqlite://",
        "postgresql://u@127.0.0.1/db",
        "mysql+aiomysql://h/d",
    ],
)
async def test_unsupported_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        await sql.open_store(url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)


async def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="secret_key"):
        await sql.open_store(
            f"sqlite+aiosqlite:///{tmp_path}/db", secret_key=b"short", audit_key=AUDIT_KEY
        )


async def test_jenkins_token_needs_the_same_key(store_url: str, store: sql.SqlStore) -> None:
    await store.upsert_jenkins_server("ci", "https://ci.example/", "bot", "tok")
    other = await sql.open_store(
        store_url, secret_key=b"another-secret-key-0123456789", audit_key=AUDIT_KEY
    )
    try:
        with pytest.raises(StoreError, match="cannot be decrypted"):
            await other.get_jenkins_server("ci", reveal=True)
    finally:
        await other.close()


async def test_times_come_back_as_utc(store: sql.SqlStore) -> None:
    user = await store.create_user("alice", "operator", None)
    token = await store.create_token(
        user.id, "t", "h" * 64, "og_", datetime(2030, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    )
    (listed,) = await store.list_tokens(user.id)
    assert listed.expires_at == datetime(2030, 1, 1, 10, tzinfo=UTC)
    assert listed.expires_at is not None
    assert listed.expires_at.utcoffset() == timedelta(0)
    assert token.id == listed.id


def test_ids_are_unique_prefixed_and_sorted_by_creation() -> None:
    factory = IdFactory()
    ids = [factory.new("run") for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(i.startswith("run_") and len(i) == 23 for i in ids)
    assert IdFactory().new("run") > ids[-1]
