"""The tool server's approval gate: a matching token once, its id spent in the shared record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.fixtures.mcp import MemorySpentApprovals, demo_tools

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.errors import ApprovalRequired, ConfigError
from opsgate.mcp.gate import APPROVAL_META_KEY, ApprovalGate
from opsgate.mcp.server import create_server
from opsgate.settings import MIN_KEY_BYTES
from opsgate.tools.base import ToolEnv

KEY = b"gate-test-key-0123456789abcdefghij"


async def test_gate_admits_a_matching_token_once_and_spends_its_id_until_expiry() -> None:
    now = 1000.0
    args = {"name": "web", "context": "dev"}
    claim = approval_token.ApprovalClaim(call_hash("t", args, "dev"), "x", now + 10)
    meta = {APPROVAL_META_KEY: approval_token.mint(KEY, claim)}
    spent = MemorySpentApprovals()
    gate = ApprovalGate(key=KEY, clock=lambda: now, spent=spent)
    assert (await gate.admit("t", args, meta)).approval_id == "x"
    assert spent.expiry_by_id == {"x": datetime.fromtimestamp(now + 10, UTC)}
    with pytest.raises(ApprovalRequired, match="'x' was already used; nothing was run"):
        await gate.admit("t", args, meta)


async def test_a_token_spent_by_one_gate_is_refused_by_another_sharing_the_record() -> None:
    args = {"name": "web"}
    claim = approval_token.ApprovalClaim(call_hash("t", args, None), "shared", 60.0)
    meta = {APPROVAL_META_KEY: approval_token.mint(KEY, claim)}
    spent = MemorySpentApprovals()
    first = ApprovalGate(key=KEY, clock=lambda: 0.0, spent=spent)
    second = ApprovalGate(key=KEY, clock=lambda: 0.0, spent=spent)
    await first.admit("t", args, meta)
    with pytest.raises(ApprovalRequired, match="already used"):
        await second.admit("t", args, meta)


@pytest.mark.parametrize("meta", [None, {}, {APPROVAL_META_KEY: 42}, {"other": "x"}])
async def test_gate_refuses_a_missing_token(meta: dict[str, object] | None) -> None:
    gate = ApprovalGate(key=KEY, clock=lambda: 0.0, spent=MemorySpentApprovals())
    with pytest.raises(ApprovalRequired, match="needs an approval token"):
        await gate.admit("t", {}, meta)


@pytest.mark.parametrize("key", [b"", b"x", b"k" * (MIN_KEY_BYTES - 1)])
def test_a_tool_server_refuses_an_empty_or_short_approval_key(
    demo_env: ToolEnv, key: bytes
) -> None:
    with pytest.raises(ConfigError, match=f"at least {MIN_KEY_BYTES} bytes"):
        create_server(demo_env, demo_tools(), key, spent=MemorySpentApprovals())


async def test_a_token_with_an_expiry_beyond_any_date_is_refused() -> None:
    args = {"name": "web"}
    claim = approval_token.ApprovalClaim(call_hash("t", args, None), "far", 1e12)
    meta = {APPROVAL_META_KEY: approval_token.mint(KEY, claim)}
    spent = MemorySpentApprovals()
    gate = ApprovalGate(key=KEY, clock=lambda: 0.0, spent=spent)
    with pytest.raises(ApprovalRequired, match="out of range"):
        await gate.admit("t", args, meta)
    assert spent.expiry_by_id == {}
