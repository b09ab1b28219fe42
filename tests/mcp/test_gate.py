"""The approval gate's memory of spent approvals: bounded, forgetting only what has expired."""

from __future__ import annotations

import pytest

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.errors import ApprovalRequired
from opsgate.mcp.gate import APPROVAL_META_KEY, ApprovalGate, SpentApprovals

KEY = b"gate-test-key"


def test_spent_ids_are_forgotten_only_after_they_expire() -> None:
    spent = SpentApprovals(capacity=10)
    spent.spend("a", expires_at=100.0, now=0.0)
    with pytest.raises(ApprovalRequired, match="already used"):
        spent.spend("a", expires_at=100.0, now=99.0)
    spent.spend("b", expires_at=200.0, now=100.0)
    assert len(spent) == 1


def test_a_full_memory_fails_closed_instead_of_forgetting_live_ids() -> None:
    spent = SpentApprovals(capacity=2)
    spent.spend("a", expires_at=100.0, now=0.0)
    spent.spend("b", expires_at=100.0, now=0.0)
    with pytest.raises(ApprovalRequired, match="too many"):
        spent.spend("c", expires_at=100.0, now=1.0)
    spent.spend("c", expires_at=300.0, now=150.0)
    with pytest.raises(ApprovalRequired):
        spent.spend("c", expires_at=300.0, now=151.0)


def test_gate_admits_a_matching_token_once() -> None:
    now = 1000.0
    args = {"name": "web", "context": "dev"}
    claim = approval_token.ApprovalClaim(call_hash("t", args, "dev"), "x", now + 10)
    meta = {APPROVAL_META_KEY: approval_token.mint(KEY, claim)}
    gate = ApprovalGate(key=KEY, clock=lambda: now)
    assert gate.admit("t", args, meta).approval_id == "x"
    with pytest.raises(ApprovalRequired):
        gate.admit("t", args, meta)


@pytest.mark.parametrize("meta", [None, {}, {APPROVAL_META_KEY: 42}, {"other": "x"}])
def test_gate_refuses_a_missing_token(meta: dict[str, object] | None) -> None:
    gate = ApprovalGate(key=KEY, clock=lambda: 0.0)
    with pytest.raises(ApprovalRequired, match="needs an approval token"):
        gate.admit("t", {}, meta)
