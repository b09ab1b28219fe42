"""The run timeline's model turns carry their `model.turn` usage (the plan's turn and the
answer's), still timed from the event before them; `audit replay --file` prints the numbers
and the web replay (`GET /conversations/{id}/replay`, tests/usage/test_usage_api.py) names
them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opsgate.cli.audit_replay import timeline_lines
from opsgate.domain.audit import AuditEvent
from opsgate.domain.run_timeline import build

START = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
PLANNED = {"call_id": "c1", "tool": "k8s_get", "args": {"resource": "pods"}}


def _turn(tokens_in: int, tokens_out: int, cost: float | None) -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "cost_usd": cost,
        "ttft_ms": 300,
        "duration_ms": 1900,
    }


def _events() -> list[AuditEvent]:
    items: list[tuple[float, str, dict[str, Any], str | None]] = [
        (0, "request", {"text": "why"}, None),
        (1.9, "model.turn", _turn(1200, 34, 0.004), None),
        (2, "plan", {"calls": [{**PLANNED, "context": None, "classification": "read"}]}, None),
        (3, "tool.started", {"tool": "k8s_get"}, "c1"),
        (
            4,
            "tool.finished",
            {"tool": "k8s_get", "status": "succeeded", "exit_code": 0, "duration_ms": 900},
            "c1",
        ),
        (6, "model.turn", _turn(1500, 56, None), None),
        (6.1, "run.finished", {"status": "completed", "answer": "2 pods"}, None),
    ]
    return [
        AuditEvent(
            seq=seq,
            at=START + timedelta(seconds=after_s),
            actor_id=None,
            actor_name="engine",
            kind=kind,  # type: ignore[arg-type]
            conversation_id="cnv_1",
            run_id="run_1",
            call_id=call_id,
            payload=payload,
            prev_hash="0" * 64,
            hash="0" * 64,
        )
        for seq, (after_s, kind, payload, call_id) in enumerate(items, start=1)
    ]


def test_model_turn_steps_show_the_turns_usage() -> None:
    timeline = build("run_1", _events())

    by_kind = {s.kind: s for s in timeline.steps}
    plan, answer = by_kind["model_turn"], by_kind["answer"]
    assert plan.usage is not None
    assert (plan.usage.input_tokens, plan.usage.output_tokens, plan.usage.cost_usd) == (
        1200,
        34,
        0.004,
    )
    # Timed from the request, not from its own usage record just before the plan.
    assert plan.duration_ms == 2000
    assert plan.audit_seqs == [2, 3]
    assert answer.usage is not None
    assert (answer.usage.input_tokens, answer.usage.cost_usd) == (1500, None)
    assert answer.duration_ms == 2100
    assert all(s.usage is None for s in timeline.steps if s.kind not in ("model_turn", "answer"))


def test_the_terminal_replay_prints_each_turns_tokens_and_cost() -> None:
    lines = [line.plain for line in timeline_lines(build("run_1", _events()))]

    assert any("model gpt-4o 1200 tokens in, 34 out, $0.00400" in line for line in lines)
    assert any("model gpt-4o 1500 tokens in, 56 out, cost unknown" in line for line in lines)
