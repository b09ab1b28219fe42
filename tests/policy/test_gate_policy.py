"""The policy in the engine's gate, over the small fake cluster (fast; the sandbox tests show
the same on real kubectl): rejections, expiry, the built-in gate untouched, and a requirement
loosened in the database refused before anything runs."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta

import pytest

from opsgate.domain.policy_load import load_policy
from opsgate.engine.policy_source import ActivePolicy
from opsgate.errors import DecisionRefused
from tests.fixtures.calls import stored_call
from tests.fixtures.engine import Harness, HarnessFactory

QUORUM = """
rules:
  - id: two-sre
    match: {tool: k_scale}
    require: {approvals: 2, approver_groups: sre, max_ttl_s: 120}
  - id: ticket
    match: {destructive: true}
    require: {reason_pattern: "[A-Z]+-[0-9]+"}
"""


async def _open(factory: HarnessFactory, text: str | None) -> Harness:
    if text is not None:
        factory.policy_file = ActivePolicy(load_policy(text), "file", "file", text)
    return await factory.open(None)


async def _pending(h: Harness, tool: str, args: dict[str, object]) -> tuple[str, str, str]:
    run = await h.engine.submit_call(h.conversation.id, h.operator, tool, args)
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    return run.id, approval_id, item.call_id


async def test_without_a_policy_items_carry_no_requirement_and_one_approval_runs(
    harnesses: HarnessFactory,
) -> None:
    h = await _open(harnesses, None)
    run_id, approval_id, call_id = await _pending(h, "k_scale", {"name": "api", "replicas": 3})
    request = await h.store.get_approval(approval_id)
    assert request.items[0].requirement is None
    assert request.expires_at == h.engine.deps.now() + timedelta(minutes=15)
    await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run_id)
    assert h.cluster.replicas["api"] == 3
    [granted] = [e for e in await h.store.list_audit(limit=100) if e.kind == "approval.granted"]
    assert "rule_ids" not in granted.payload
    assert "settled" not in granted.payload


async def test_a_rejection_by_an_eligible_approver_rejects_and_an_ineligible_one_is_refused(
    harnesses: HarnessFactory,
) -> None:
    h = await _open(harnesses, QUORUM)
    sre = await h.store.update_user(h.approver.id, groups=("sre",))
    outsider = await h.store.create_user("otto", "approver", None)
    run_id, approval_id, call_id = await _pending(h, "k_scale", {"name": "api", "replicas": 3})
    with pytest.raises(DecisionRefused, match="only approvers from group sre"):
        await h.engine.decide(approval_id, call_id, outsider, approve=False, reason="no")
    rejected = await h.engine.decide(approval_id, call_id, sre, approve=False, reason="not now")
    assert rejected.status == "rejected"
    await h.engine.wait_run(run_id)
    assert h.cluster.mutations() == []


async def test_a_rules_max_ttl_shortens_the_request(harnesses: HarnessFactory) -> None:
    h = await _open(harnesses, QUORUM)
    _, approval_id, _ = await _pending(h, "k_scale", {"name": "api", "replicas": 3})
    request = await h.store.get_approval(approval_id)
    assert request.expires_at == h.engine.deps.now() + timedelta(seconds=120)


async def test_a_destructive_change_needs_a_ticket_in_the_reason(
    harnesses: HarnessFactory,
) -> None:
    h = await _open(harnesses, QUORUM)
    run_id, approval_id, call_id = await _pending(h, "k_delete", {"name": "api"})
    with pytest.raises(DecisionRefused, match=r"rule 'ticket': the reason must match"):
        await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason="cleanup")
    decided = await h.engine.decide(
        approval_id, call_id, h.approver, approve=True, reason="OPS-7 retire api"
    )
    assert decided.status == "approved"
    await h.engine.wait_run(run_id)
    assert "api" not in h.cluster.replicas


async def test_a_requirement_loosened_in_the_database_is_refused_before_running(
    harnesses: HarnessFactory,
) -> None:
    h = await _open(harnesses, QUORUM)
    sre = await h.store.update_user(h.approver.id, groups=("sre",))
    run_id, approval_id, call_id = await _pending(h, "k_scale", {"name": "api", "replicas": 3})
    # Someone with write access to the database drops the item's requirement: one approval
    # would now settle it, but the audit log recorded two of two.
    with contextlib.closing(
        sqlite3.connect(harnesses.data_dir / "opsgate.db", isolation_level=None)
    ) as db:
        db.execute("UPDATE approval_items SET requirement = NULL WHERE call_id = ?", (call_id,))
    await h.engine.decide(approval_id, call_id, sre, approve=True, reason=None)
    await h.engine.wait_run(run_id)
    assert h.cluster.mutations() == []
    call = await stored_call(h.store, call_id)
    assert call.status == "refused"
    assert "requirement differs" in (call.output or "")
