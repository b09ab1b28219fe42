"""Replay rebuilds a conversation's timeline from audit events written through the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from opsgate.domain.audit import AuditKind
from opsgate.domain.canonical import call_hash
from opsgate.store import replay
from opsgate.store.sql import SqlStore

SCALE_ARGS = {"namespace": "shop", "name": "web", "replicas": 3}
GET_ARGS = {"namespace": "shop", "kind": "deployment"}


async def _audit(
    store: SqlStore,
    kind: AuditKind,
    payload: dict[str, Any],
    *,
    actor: tuple[str | None, str] = (None, "engine"),
    conversation_id: str,
    run_id: str | None,
    call_id: str | None = None,
) -> None:
    await store.append_audit(
        kind,
        payload,
        actor_id=actor[0],
        actor_name=actor[1],
        conversation_id=conversation_id,
        run_id=run_id,
        call_id=call_id,
    )


async def _record_conversation(store: SqlStore) -> tuple[str, str, str]:
    alice = await store.create_user("alice", "operator", None)
    bob = await store.create_user("bob", "approver", None)
    conversation = await store.create_conversation("web is slow", alice.id, ["prod"])
    run = await store.create_run(conversation.id, "chat", alice.id)
    c, r = conversation.id, run.id
    asker, approver = (alice.id, "alice"), (bob.id, "bob")
    await _audit(
        store, "request", {"text": "scale web to 3"}, actor=asker, conversation_id=c, run_id=r
    )
    await _audit(
        store,
        "plan",
        {
            "text": "Check, then scale.",
            "calls": [
                {
                    "call_id": "call_get",
                    "tool": "k8s_get",
                    "args": GET_ARGS,
                    "context": "prod",
                    "classification": "read",
                    "destructive": False,
                },
                {
                    "call_id": "call_scale",
                    "tool": "k8s_scale",
                    "args": SCALE_ARGS,
                    "context": "prod",
                    "classification": "mutation",
                    "destructive": False,
                },
            ],
        },
        conversation_id=c,
        run_id=r,
    )
    started = {"tool": "k8s_get", "args": GET_ARGS, "context": "prod", "classification": "read"}
    await _audit(store, "tool.started", started, conversation_id=c, run_id=r, call_id="call_get")
    finished = {
        "tool": "k8s_get",
        "status": "succeeded",
        "exit_code": 0,
        "output": "web 1/1",
        "output_sha256": "a" * 64,
        "output_size": 7,
        "truncated": False,
        "duration_ms": 30,
    }
    await _audit(store, "tool.finished", finished, conversation_id=c, run_id=r, call_id="call_get")
    expires = (datetime.now(UTC) + timedelta(minutes=15)).isoformat()
    requested = {
        "approval_id": "apr_1",
        "expires_at": expires,
        "calls": [
            {
                "call_id": "call_scale",
                "tool": "k8s_scale",
                "args": SCALE_ARGS,
                "context": "prod",
                "call_hash": call_hash("k8s_scale", SCALE_ARGS, "prod"),
                "destructive": False,
            }
        ],
    }
    await _audit(store, "approval.requested", requested, conversation_id=c, run_id=r)
    await _audit(
        store,
        "approval.granted",
        {"approval_id": "apr_1", "reason": "peak traffic"},
        actor=approver,
        conversation_id=c,
        run_id=r,
        call_id="call_scale",
    )
    scale_started = {
        **started,
        "tool": "k8s_scale",
        "args": SCALE_ARGS,
        "classification": "mutation",
    }
    await _audit(
        store, "tool.started", scale_started, conversation_id=c, run_id=r, call_id="call_scale"
    )
    await _audit(
        store,
        "tool.finished",
        {**finished, "tool": "k8s_scale", "output": "scaled", "output_size": 6},
        conversation_id=c,
        run_id=r,
        call_id="call_scale",
    )
    await _audit(
        store,
        "verify",
        {"tool": "k8s_scale", "verdict": "verified", "summary": "3/3 ready"},
        conversation_id=c,
        run_id=r,
        call_id="call_scale",
    )
    await _audit(
        store, "run.finished", {"status": "completed", "reason": None}, conversation_id=c, run_id=r
    )
    return c, r, bob.id


async def test_replay_rebuilds_the_whole_story(store: SqlStore) -> None:
    conversation_id, run_id, bob_id = await _record_conversation(store)
    await _audit(store, "request", {"text": "elsewhere"}, conversation_id="cnv_other", run_id=None)

    timeline = await replay.replay(store, conversation_id)

    assert [e.kind for e in timeline.entries] == [
        "request",
        "plan",
        "tool.started",
        "tool.finished",
        "approval.requested",
        "approval.granted",
        "tool.started",
        "tool.finished",
        "verify",
        "run.finished",
    ]
    assert [e.seq for e in timeline.entries] == list(range(1, 11))
    (run,) = timeline.runs
    assert (run.run_id, run.requested_by, run.request) == (run_id, "alice", "scale web to 3")
    assert (run.status, len(run.plans)) == ("completed", 1)
    assert run.plans[0].call_ids == ["call_get", "call_scale"]
    get, scale = timeline.calls
    assert (get.call_id, get.status, get.output, get.exit_code) == (
        "call_get",
        "succeeded",
        "web 1/1",
        0,
    )
    assert get.decision is None
    assert scale.args == SCALE_ARGS
    assert scale.classification == "mutation"
    assert scale.call_hash == call_hash("k8s_scale", SCALE_ARGS, "prod")
    assert (scale.status, scale.approval_id, scale.output) == ("verified", "apr_1", "scaled")
    assert scale.decision is not None
    assert (scale.decision.by, scale.decision.by_id, scale.decision.reason) == (
        "bob",
        bob_id,
        "peak traffic",
    )
    assert scale.verification is not None
    assert (scale.verification.verdict, scale.verification.summary) == ("verified", "3/3 ready")
    assert scale.started_at is not None
    assert scale.finished_at is not None
    assert scale.started_at <= scale.finished_at
    (approval,) = timeline.approvals
    assert (approval.approval_id, approval.call_ids) == ("apr_1", ["call_scale"])
    assert [(d.decision, d.by) for d in approval.decisions] == [("approve", "bob")]
    assert "bob: approve call_scale (peak traffic)" in [e.summary for e in timeline.entries]


async def test_a_wave_one_verify_event_that_only_says_ok_reads_as_not_verified(
    store: SqlStore,
) -> None:
    # Engines before verdicts wrote `ok: true` for checks that only read an object back.
    for ok in (True, False):
        await _audit(
            store,
            "verify",
            {"tool": "k8s_label", "ok": ok, "summary": "read back"},
            conversation_id="cnv_old",
            run_id="run_old",
            call_id=f"call_{ok}",
        )
    timeline = await replay.replay(store, "cnv_old")
    statuses = {
        c.call_id: (c.status, c.verification.verdict) for c in timeline.calls if c.verification
    }
    assert statuses == {
        "call_True": ("not_verified", "not_verified"),
        "call_False": ("verification_failed", "failed"),
    }


async def test_replay_shows_rejection_and_expiry(store: SqlStore) -> None:
    c, r = "cnv_x", "run_x"
    calls = [
        {
            "call_id": f"call_{n}",
            "tool": "helm_uninstall",
            "args": {"release": n},
            "context": "prod",
            "call_hash": "0" * 64,
            "destructive": True,
        }
        for n in ("a", "b")
    ]
    await _audit(
        store,
        "approval.requested",
        {"approval_id": "apr_x", "calls": calls, "expires_at": None},
        conversation_id=c,
        run_id=r,
    )
    await _audit(
        store,
        "approval.rejected",
        {"approval_id": "apr_x", "reason": "not today"},
        actor=("usr_b", "bob"),
        conversation_id=c,
        run_id=r,
        call_id="call_a",
    )
    await _audit(
        store,
        "approval.expired",
        {"approval_id": "apr_x"},
        conversation_id=c,
        run_id=r,
        call_id="call_b",
    )
    await _audit(
        store,
        "run.finished",
        {"status": "stopped", "reason": "nothing approved"},
        conversation_id=c,
        run_id=r,
    )

    timeline = await replay.replay(store, c)

    assert [(call.call_id, call.status, call.destructive) for call in timeline.calls] == [
        ("call_a", "rejected", True),
        ("call_b", "expired", True),
    ]
    assert [(d.call_id, d.decision, d.by) for d in timeline.approvals[0].decisions] == [
        ("call_a", "reject", "bob"),
        ("call_b", "expired", "engine"),
    ]
    assert (timeline.runs[0].status, timeline.runs[0].reason) == ("stopped", "nothing approved")


async def test_request_wide_expiry_spares_decided_calls(store: SqlStore) -> None:
    c, r = "cnv_y", "run_y"
    calls = [
        {
            "call_id": f"call_{n}",
            "tool": "k8s_scale",
            "args": {"replicas": 2},
            "context": "prod",
            "call_hash": "0" * 64,
            "destructive": False,
        }
        for n in ("a", "b")
    ]
    await _audit(
        store,
        "approval.requested",
        {"approval_id": "apr_y", "calls": calls},
        conversation_id=c,
        run_id=r,
    )
    await _audit(
        store,
        "approval.granted",
        {"approval_id": "apr_y", "reason": None},
        actor=("usr_b", "bob"),
        conversation_id=c,
        run_id=r,
        call_id="call_a",
    )
    await _audit(store, "approval.expired", {"approval_id": "apr_y"}, conversation_id=c, run_id=r)

    timeline = await replay.replay(store, c)

    assert [(call.call_id, call.status) for call in timeline.calls] == [
        ("call_a", "approved"),
        ("call_b", "expired"),
    ]


async def test_replay_of_unknown_conversation_is_empty(store: SqlStore) -> None:
    timeline = await replay.replay(store, "cnv_none")
    assert (timeline.entries, timeline.calls, timeline.runs) == ([], [], [])


async def test_a_payload_that_does_not_fit_its_kind_shows_as_unreadable_and_changes_nothing(
    store: SqlStore,
) -> None:
    c, r = "cnv_z", "run_z"
    await _audit(store, "request", {"text": "get pods"}, conversation_id=c, run_id=r)
    # An edited record: a finished call with no status and a verdict no engine writes.
    await _audit(
        store, "tool.finished", {"tool": "k8s_get"}, conversation_id=c, run_id=r, call_id="c1"
    )
    await _audit(
        store,
        "verify",
        {"tool": "k8s_get", "verdict": "fine"},
        conversation_id=c,
        run_id=r,
        call_id="c1",
    )

    timeline = await replay.replay(store, c)

    assert [e.kind for e in timeline.entries] == ["request", "tool.finished", "verify"]
    assert timeline.entries[0].summary == "engine asked: get pods"
    assert timeline.entries[1].summary.startswith("unreadable tool.finished record: ")
    assert timeline.entries[2].summary.startswith("unreadable verify record: ")
    assert timeline.calls == []
    assert timeline.runs[0].request == "get pods"
