"""Spent approval tokens: single use across every tool server sharing the database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from opsgate.errors import InvalidInput
from opsgate.store import sql
from opsgate.store.sql import SqlStore
from opsgate.store.sql_spent import PRUNE_GRACE
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY, RawSql

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_an_approval_is_spent_once(store: SqlStore) -> None:
    later = NOW + timedelta(minutes=5)
    assert await store.spend_approval("apr_1:call_a", expires_at=later, now=NOW) is True
    assert await store.spend_approval("apr_1:call_a", expires_at=later, now=NOW) is False
    assert await store.spend_approval("apr_1:call_b", expires_at=later, now=NOW) is True


async def test_two_processes_racing_for_one_approval_spend_it_once(
    store: SqlStore, store_url: str
) -> None:
    other = await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    try:
        later = NOW + timedelta(minutes=5)
        for attempt in range(10):
            approval_id = f"apr_race:{attempt}"
            outcomes = await asyncio.gather(
                *(
                    s.spend_approval(approval_id, expires_at=later, now=NOW)
                    for s in (store, other, store, other)
                )
            )
            assert sorted(outcomes) == [False, False, False, True], approval_id
    finally:
        await other.close()


async def test_ids_are_pruned_only_well_after_their_token_expired(
    store: SqlStore, raw_sql: RawSql
) -> None:
    long_expired = NOW - PRUNE_GRACE - timedelta(seconds=1)
    just_expired = NOW - timedelta(seconds=1)
    await store.spend_approval("apr_old", expires_at=long_expired, now=long_expired)
    await store.spend_approval("apr_recent", expires_at=just_expired, now=just_expired)
    await store.spend_approval("apr_new", expires_at=NOW + timedelta(minutes=5), now=NOW)
    rows = await raw_sql("SELECT approval_id FROM spent_approvals ORDER BY approval_id")
    assert rows == [("apr_new",), ("apr_recent",)]


@pytest.mark.parametrize("approval_id", ["", "a" * 201])
async def test_an_id_the_table_cannot_hold_is_refused(store: SqlStore, approval_id: str) -> None:
    with pytest.raises(InvalidInput, match="approval_id"):
        await store.spend_approval(approval_id, expires_at=NOW, now=NOW)
