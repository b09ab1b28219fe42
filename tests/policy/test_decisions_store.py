"""Several decisions per approval item, on SQLite and PostgreSQL: a counted approval keeps the
item pending, every decision is kept with its rule ids, the requirement comes back as stored,
and two deciders judging against the same decisions get one success and one `Conflict`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from opsgate.domain.policy import Require, Requirement, RuleRequirement
from opsgate.errors import Conflict
from opsgate.store import sql
from opsgate.store.sql import SqlStore
from tests.fixtures.calls import stored_call
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY
from tests.store.test_calls_and_approvals import Item, _run_with_calls

TWO = Requirement(
    rules=(RuleRequirement(rule_id="two", require=Require(approvals=2)),), policy_version="file"
)


async def _open(store: SqlStore) -> str:
    run_id, user_id = await _run_with_calls(store, "call_a")
    request = await store.create_approval(
        run_id=run_id,
        proposed_by=user_id,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
        items=[Item("call_a")],
        requirements={"call_a": TWO},
    )
    return request.id


async def test_a_counted_approval_keeps_the_item_pending_and_every_decision_is_kept(
    store: SqlStore,
) -> None:
    approval_id = await _open(store)
    now = datetime.now(UTC)
    first = await store.decide(
        approval_id,
        "call_a",
        "approve",
        user_id="u1",
        user_name="ann",
        reason=None,
        now=now,
        rule_ids=["two"],
        final=False,
        seen_decisions=0,
    )
    [item] = first.items
    assert (item.status, item.decision, item.requirement) == ("pending", None, TWO)
    assert (await stored_call(store, "call_a")).status == "awaiting_approval"
    second = await store.decide(
        approval_id,
        "call_a",
        "approve",
        user_id="u2",
        user_name="bo",
        reason="ok",
        now=now,
        rule_ids=["two"],
        final=True,
        seen_decisions=1,
    )
    [item] = second.items
    assert item.status == "approved"
    assert [(d.decided_by_name, d.rule_ids) for d in item.decisions] == [
        ("ann", ("two",)),
        ("bo", ("two",)),
    ]
    assert item.decision == item.decisions[-1]
    assert (await stored_call(store, "call_a")).status == "approved"


async def test_a_decision_judged_against_stale_decisions_is_refused(
    store_url: str, store: SqlStore
) -> None:
    approval_id = await _open(store)
    other = await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    now = datetime.now(UTC)
    try:
        results = await asyncio.gather(
            *(
                s.decide(
                    approval_id,
                    "call_a",
                    "approve",
                    user_id=uid,
                    user_name=uid,
                    reason=None,
                    now=now,
                    rule_ids=["two"],
                    final=False,
                    seen_decisions=0,
                )
                for s, uid in ((store, "u1"), (other, "u2"))
            ),
            return_exceptions=True,
        )
    finally:
        await other.close()
    assert len([r for r in results if isinstance(r, Conflict)]) == 1
    [item] = (await store.get_approval(approval_id)).items
    assert len(item.decisions) == 1
    with pytest.raises(Conflict, match="landed first"):
        await store.decide(
            approval_id,
            "call_a",
            "approve",
            user_id="u3",
            user_name="cy",
            reason=None,
            now=now,
            rule_ids=["two"],
            final=True,
            seen_decisions=0,
        )
