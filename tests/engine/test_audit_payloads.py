"""The engine's audit payloads are exactly their models' dumps, and today's shapes still load.

A conversation runs through the real engine (scripted model, real MCP tool server, real
store): reads, an invalid call, approved, rejected, expired and lapsed changes, a verified
change, a direct read and a direct change stopped at the gate. Every audit event it wrote must
read back through its kind's model (`domain.audit_payloads`) and dump to the very JSON the
chain hashed. The payloads below, in the shape the engine wrote them before the models
existed, pin that shape down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from opsgate.domain import audit_payloads as ap
from opsgate.domain.canonical import canonical_json
from opsgate.domain.outcomes import RunSummary
from tests.engine.test_replay import SCRIPTS, _env_tool, _scale_run, _shrink_run
from tests.fixtures.engine import HarnessFactory, engine_tools

_DECISION = {
    "approval_id",
    "call_id",
    "reason",
    "tool",
    "context",
    "namespace",
    "call_hash",
    "preview_state",
    "override",
}
# Decisions since the run timeline also name the call's target and the preview's hash, each
# only when there is one.
_DECISIONS = [
    _DECISION | extra
    for extra in (set(), {"object"}, {"preview_sha256"}, {"object", "preview_sha256"})
]
_RUN_END = {"status", "reason", "summary", "stopped_by"}
KEYS: dict[str, list[set[str]]] = {
    "request": [{"text"}],
    "plan": [{"calls", "text"}],
    "model.turn": [
        {"model", "input_tokens", "output_tokens", "cost_usd", "ttft_ms", "duration_ms"}
    ],
    "approval.requested": [{"approval_id", "calls", "expires_at"}],
    "approval.granted": _DECISIONS,
    "approval.rejected": _DECISIONS,
    "approval.expired": [{"approval_id", "call_ids"}, {"approval_id", "call_ids", "reason"}],
    # An approved change names the snapshot taken just before it (docs/undo.md).
    "tool.started": [
        {"tool", "args", "context", "classification", "command"},
        {"tool", "args", "context", "classification", "command", "snapshot_sha256"},
    ],
    "tool.finished": [
        {
            "tool",
            "status",
            "exit_code",
            "output",
            "output_sha256",
            "output_size",
            "truncated",
            "duration_ms",
        }
    ],
    "verify": [{"tool", "verdict", "summary", "details", "rollback"}],
    "run.finished": [_RUN_END, {*_RUN_END, "answer"}],
}
"""The keys each kind's payload carried before the models existed (what the chain holds)."""


async def test_every_audit_event_of_a_run_is_its_models_dump(
    harnesses: HarnessFactory, tmp_path: Path
) -> None:
    config = tmp_path / "frontend.env"
    config.write_text("DB_HOST=db\n")
    harnesses.tools = {**engine_tools(), "k_env": _env_tool(config)}
    h = await harnesses.open(SCRIPTS)
    await _scale_run(h)
    await _shrink_run(h)
    await h.engine.submit_call(h.conversation.id, h.operator, "k_get", {"name": "api"})
    await h.engine.wait_idle()
    change = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 4}
    )
    await h.engine.wait_run(change.id)
    await h.engine.stop(change.id, h.operator)
    await h.engine.wait_idle()

    seen: set[str] = set()
    async for event in h.store.iter_audit():
        model = ap.AUDIT_PAYLOADS[event.kind]
        typed = model.model_validate(event.payload)
        assert canonical_json(typed.payload()) == canonical_json(event.payload), event.kind
        assert set(event.payload) in KEYS[event.kind], event.kind
        seen.add(event.kind)
    # The crash-only kind is pinned below, the policy-only break-glass kind in
    # tests/policy; everything else the engine writes occurred here.
    assert seen == set(ap.ENGINE_PAYLOADS) - {"tool.outcome_unknown", "approval.break_glass"}


SUMMARY = RunSummary(reads=1)

TODAY: list[tuple[ap.AuditPayload, dict[str, Any]]] = [
    (ap.Request(text="scale web"), {"text": "scale web"}),
    (
        ap.ApprovalExpired(approval_id="apr_1", call_ids=["c1"]),
        {"approval_id": "apr_1", "call_ids": ["c1"]},
    ),
    (
        ap.ApprovalExpired(approval_id="apr_1", call_ids=["c1"], reason="stopped by olga"),
        {"approval_id": "apr_1", "call_ids": ["c1"], "reason": "stopped by olga"},
    ),
    (
        ap.ToolFinished(
            tool="k_scale",
            status="refused",
            output="refused: edited; nothing was run",
            output_sha256="ab" * 32,
            output_size=32,
            duration_ms=0,
            refused=True,
            reason="edited",
        ),
        {
            "tool": "k_scale",
            "status": "refused",
            "exit_code": None,
            "output": "refused: edited; nothing was run",
            "output_sha256": "ab" * 32,
            "output_size": 32,
            "truncated": False,
            "duration_ms": 0,
            "refused": True,
            "reason": "edited",
        },
    ),
    (
        ap.ToolOutcomeUnknown(
            tool="k_scale",
            args={"name": "web"},
            context="prod",
            reason="the process stopped while the call ran; it is never re-run",
        ),
        {
            "tool": "k_scale",
            "args": {"name": "web"},
            "context": "prod",
            "reason": "the process stopped while the call ran; it is never re-run",
        },
    ),
    (
        ap.RunFinished(status="completed", summary=SUMMARY, answer="done"),
        {
            "status": "completed",
            "reason": None,
            "summary": SUMMARY.model_dump(),
            "stopped_by": None,
            "answer": "done",
        },
    ),
    (
        ap.RunFinished(
            status="stopped", reason="stopped by olga", summary=SUMMARY, stopped_by="olga"
        ),
        {
            "status": "stopped",
            "reason": "stopped by olga",
            "summary": SUMMARY.model_dump(),
            "stopped_by": "olga",
        },
    ),
]


@pytest.mark.parametrize(("typed", "stored"), TODAY)
def test_a_payload_dumps_in_todays_shape_and_loads_back(
    typed: ap.AuditPayload, stored: dict[str, Any]
) -> None:
    assert typed.payload() == stored
    assert list(typed.payload()) == list(stored)
    assert type(typed).model_validate(stored) == typed


def test_approval_requested_keeps_its_expiry_as_isoformat() -> None:
    stored = {
        "approval_id": "apr_1",
        "calls": [
            {
                "call_id": "c1",
                "tool": "k_scale",
                "args": {"name": "web"},
                "context": "prod",
                "call_hash": "cd" * 32,
                "destructive": False,
                "preview": "replicas: 1 -> 3",
                "preview_state": "changes",
                "command": "kubectl scale deployment/web --replicas=3",
                "cluster": "https://fake.test",
            }
        ],
        "expires_at": "2030-03-17T17:46:40+00:00",
    }
    typed = ap.ApprovalRequested.model_validate(stored)
    assert typed.payload() == stored


def test_a_wave_one_verify_event_reads_as_not_verified_or_failed() -> None:
    passed = ap.VerifyOutcome.model_validate({"tool": "k_scale", "ok": True, "summary": "ok"})
    failed = ap.VerifyOutcome.model_validate({"tool": "k_scale", "ok": False})
    assert (passed.verdict, failed.verdict) == ("not_verified", "failed")
