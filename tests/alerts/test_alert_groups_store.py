"""Alert groups in the store, on SQLite and PostgreSQL: one open investigation per group."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from opsgate.errors import Conflict
from opsgate.store import sql
from opsgate.store.sql import SqlStore
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY

NOW = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
KEY = "a" * 64


async def _conversation(store: SqlStore) -> str:
    owner = await store.create_user("alertmanager", "operator", None)
    return (await store.create_conversation("Alert: X", owner.id, ["c"], "shop")).id


async def test_a_group_opens_once_resolves_and_reopens(store: SqlStore) -> None:
    first = await _conversation(store)
    assert await store.get_alert_group("alertmanager", KEY) is None
    opened = await store.open_alert_group("alertmanager", KEY, first, now=NOW)
    assert (opened.status, opened.conversation_id) == ("open", first)
    with pytest.raises(Conflict):
        await store.open_alert_group("alertmanager", KEY, first, now=NOW)
    other_source = await store.open_alert_group("generic", KEY, first, now=NOW)
    assert other_source.source == "generic"
    resolved = await store.resolve_alert_group("alertmanager", KEY, now=NOW)
    assert resolved is not None
    assert resolved.status == "resolved"
    assert await store.resolve_alert_group("alertmanager", KEY, now=NOW) is None
    later = NOW + timedelta(minutes=5)
    owner = (await store.get_conversation(first)).owner_id
    second = (await store.create_conversation("Alert: X", owner, ["c"])).id
    reopened = await store.open_alert_group("alertmanager", KEY, second, now=later)
    assert reopened.conversation_id == second
    stored = await store.get_alert_group("alertmanager", KEY)
    assert stored is not None
    assert (stored.status, stored.conversation_id, stored.opened_at) == ("open", second, later)
    assert await store.alert_groups_opened_since(NOW - timedelta(seconds=1)) == [NOW, later]
    assert await store.alert_groups_opened_since(NOW + timedelta(seconds=1)) == [later]


async def test_two_replicas_racing_open_one_investigation(store: SqlStore, store_url: str) -> None:
    conversation = await _conversation(store)
    other = await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    try:
        outcomes = await asyncio.gather(
            *(s.open_alert_group("alertmanager", KEY, conversation) for s in (store, other) * 2),
            return_exceptions=True,
        )
    finally:
        await other.close()
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, BaseException))
