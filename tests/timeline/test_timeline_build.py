"""`domain.run_timeline.build` on events as earlier versions wrote them (approval events with
neither object nor preview hash), on a quorum, and on an edited record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opsgate.domain.audit import AuditEvent
from opsgate.domain.audit_payloads import preview_hash
from opsgate.domain.run_timeline import build

START = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
PLANNED = {"call_id": "c1", "tool": "k8s_delete", "args": {"resource": "deployment/web"}}
REQUESTED = {
    "call_id": "c1",
    "tool": "k8s_delete",
    "args": {"resource": "deployment/web"},
    "call_hash": "h",
    "preview": 'deployment "web" deleted (server dry run)',
}


def _events(*items: tuple[float, str, str, dict[str, Any], str | None]) -> list[AuditEvent]:
    return [
        AuditEvent(
            seq=seq,
            at=START + timedelta(seconds=after_s),
            actor_id=None,
            actor_name=actor,
            kind=kind,  # type: ignore[arg-type]
            conversation_id="cnv_1",
            run_id="run_1",
            call_id=call_id,
            payload=payload,
            prev_hash="0" * 64,
            hash="0" * 64,
        )
        for seq, (after_s, actor, kind, payload, call_id) in enumerate(items, start=1)
    ]


def test_decisions_without_a_preview_hash_leave_the_match_unknown_not_true() -> None:
    timeline = build(
        "run_1",
        _events(
            (0, "ada", "request", {"text": "delete web"}, None),
            (
                2,
                "engine",
                "plan",
                {"calls": [{**PLANNED, "context": None, "classification": "mutation"}]},
                None,
            ),
            (3, "engine", "approval.requested", {"approval_id": "a1", "calls": [REQUESTED]}, None),
            (9, "bob", "approval.granted", {"approval_id": "a1", "reason": "old"}, "c1"),
            (10, "engine", "tool.started", {"tool": "k8s_delete"}, "c1"),
            (
                12,
                "engine",
                "tool.finished",
                {"tool": "k8s_delete", "status": "succeeded", "exit_code": 0, "duration_ms": 1500},
                "c1",
            ),
            (13, "engine", "run.finished", {"status": "completed", "answer": "gone"}, None),
        ),
    )
    by_kind = {s.kind: s for s in timeline.steps}
    approval = by_kind["approval"]
    assert approval.object == "deployment/web"
    assert approval.preview_sha256 == preview_hash(REQUESTED["preview"])
    assert approval.preview_matches is None
    assert (approval.actor, approval.outcome, approval.duration_ms) == ("bob", "approved", 6000)
    assert by_kind["model_turn"].duration_ms == 2000
    assert by_kind["execution"].duration_ms == 1500
    assert by_kind["call"].outcome == "succeeded"
    assert by_kind["call"].ended_at == START + timedelta(seconds=12)
    assert (timeline.status, timeline.duration_ms) == ("completed", 13000)


def test_a_decision_naming_another_preview_is_a_mismatch_and_a_quorum_names_everyone() -> None:
    other = preview_hash("something else")
    same = preview_hash(REQUESTED["preview"])
    timeline = build(
        "run_1",
        _events(
            (0, "engine", "approval.requested", {"approval_id": "a1", "calls": [REQUESTED]}, None),
            (
                1,
                "ada",
                "approval.granted",
                {
                    "approval_id": "a1",
                    "preview_sha256": same,
                    "settled": False,
                    "rule_ids": ["prod"],
                },
                "c1",
            ),
            (
                2,
                "bob",
                "approval.granted",
                {
                    "approval_id": "a1",
                    "preview_sha256": other,
                    "settled": True,
                    "rule_ids": ["prod"],
                },
                "c1",
            ),
        ),
    )
    (approval,) = [s for s in timeline.steps if s.kind == "approval"]
    assert approval.actor == "ada, bob"
    assert approval.rule_ids == ["prod"]
    assert approval.preview_matches is False
    assert approval.outcome == "approved"


def test_an_edited_record_is_left_out_and_other_runs_are_skipped() -> None:
    events = _events(
        (0, "ada", "request", {"text": "hi"}, None),
        (1, "engine", "tool.finished", {"tool": "k8s_get", "status": "no such status"}, "c1"),
    )
    stranger = events[0].model_copy(update={"run_id": "run_2", "seq": 3})
    timeline = build("run_1", [*events, stranger])
    assert [s.kind for s in timeline.steps] == ["request"]
    assert timeline.steps[0].audit_seqs == [1]
    assert timeline.status is None
