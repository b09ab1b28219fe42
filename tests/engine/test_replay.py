"""Replay of a conversation driven through the real engine matches what happened.

The conversation runs on the compiled graph with the scripted model, the real MCP tool server,
the real store and one read tool that goes through the real subprocess runner (so its output
is redacted for real). The timeline `opsgate.store.replay.replay` rebuilds from the audit log
alone is then compared with the store's own records (runs, calls, approvals, messages) and the
engine's stream events.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from opsgate.engine.deps import Limits
from opsgate.errors import Conflict
from opsgate.store import replay
from opsgate.store.records import ApprovalRequest, StreamEvent, ToolCallRecord
from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from opsgate.tools.runner import SubprocessRunner
from tests.fixtures.engine import Harness, HarnessFactory, NameParams, _hints, engine_tools

SECRET = "hunter2-s3cret-value"

SCRIPTS = """
scripts:
  - match: "scale"
    turns:
      - text: "Checking first."
        tool_calls:
          - {name: k_get, args: {name: frontend}}
          - {name: k_env, args: {name: frontend}}
          - {name: k_scale, args: {name: frontend, replicas: 99}}
      - text: "Scaling frontend to 3 and removing api."
        tool_calls:
          - {name: k_scale, args: {name: frontend, replicas: 3}}
          - {name: k_delete, args: {name: api}}
      - text: "Done: frontend runs 3 replicas; api was kept."
  - match: "shrink"
    turns:
      - tool_calls:
          - {name: k_scale, args: {name: frontend, replicas: 1}}
          - {name: k_scale, args: {name: api, replicas: 2}}
          - {name: k_delete, args: {name: frontend}}
      - text: "Nothing changed: the approvals ran out."
"""


def _env_tool(config: Path) -> Tool:
    """A read that prints a config file through the real runner (which redacts secrets)."""
    runner = SubprocessRunner(env={})

    async def show(params: NameParams, env: ToolEnv) -> ToolOutput:
        result = await runner.run(["/bin/cat", str(config)])
        return ToolOutput(ok=result.exit_code == 0, text=result.stdout, exit_code=result.exit_code)

    return Tool("k_env", "kubectl", "Show a deployment's config.", NameParams, _hints(True), show)


@pytest.fixture
def factory(harnesses: HarnessFactory, tmp_path: Path) -> HarnessFactory:
    config = tmp_path / "frontend.env"
    config.write_text(f"DB_HOST=db\nDB_PASSWORD={SECRET}\n")
    harnesses.tools = {**engine_tools(), "k_env": _env_tool(config)}
    return harnesses


def _by_tool(calls: list[ToolCallRecord], tool: str, **args: Any) -> ToolCallRecord:
    [found] = [c for c in calls if c.tool == tool and args.items() <= c.args.items()]
    return found


async def _pending(h: Harness, run_id: str) -> ApprovalRequest:
    return await h.store.get_approval(await h.pending_approval_id(run_id))


async def _scale_run(h: Harness) -> str:
    """Reads, an invalid call, one approved mutation (run and verified), one rejected."""
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend to 3")
    await h.engine.wait_run(run.id)
    request = await _pending(h, run.id)
    scale, delete = request.items
    await h.engine.decide(request.id, scale.call_id, h.approver, approve=True, reason=None)
    await h.engine.decide(
        request.id, delete.call_id, h.approver, approve=False, reason="api still serves traffic"
    )
    await h.engine.wait_run(run.id)
    return run.id


async def _shrink_run(h: Harness) -> tuple[str, ApprovalRequest]:
    """One call approved, one rejected, one left undecided until the request expires."""
    run = await h.engine.submit_message(h.conversation.id, h.operator, "shrink everything")
    await h.engine.wait_run(run.id)
    request = await _pending(h, run.id)
    frontend, api, delete = request.items
    await h.engine.decide(request.id, frontend.call_id, h.approver, True, "ok at night")
    await h.engine.decide(request.id, delete.call_id, h.approver, False, "keep it")
    # Past the request's 15 minutes and the grace an approval given in time has to start.
    h.clock.now += 15 * 60 + Limits().execution_grace_s + 1
    with pytest.raises(Conflict):
        await h.engine.decide(request.id, api.call_id, h.approver, approve=True, reason=None)
    await h.engine.expire_due()
    await h.engine.wait_idle()
    return run.id, request


def _stream(events: list[StreamEvent], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == kind]


async def test_expired_audit_names_only_the_calls_that_expired(factory: HarnessFactory) -> None:
    h = await factory.open(SCRIPTS)
    run_id, request = await _shrink_run(h)
    frontend, api, delete = request.items
    assert h.cluster.mutations() == []

    expired = [a for a in await h.store.list_audit(limit=1000) if a.kind == "approval.expired"]
    # The request ran out with only `api` undecided; the approved `frontend` call then could
    # not run before the approval's expiry, and says so on its own.
    assert [a.payload["call_ids"] for a in expired] == [[api.call_id], [frontend.call_id]]
    assert [a.call_id for a in expired] == [None, frontend.call_id]
    assert {a.payload["approval_id"] for a in expired} == {request.id}
    streamed = _stream(await h.events(run_id), "approval.expired")
    assert [e["call_ids"] for e in streamed] == [[api.call_id], [frontend.call_id]]

    timeline = await replay.replay(h.store, h.conversation.id)
    calls = {c.call_id: c for c in timeline.calls}
    stored = {c.id: c.status for c in await h.store.list_calls(run_id=run_id)}
    assert {i: calls[i].status for i in stored} == stored
    assert stored == {
        frontend.call_id: "expired",
        api.call_id: "expired",
        delete.call_id: "rejected",
    }
    decided = {i: (calls[i].decision.decision, calls[i].decision.by) for i in stored}  # type: ignore[union-attr]
    assert decided == {
        frontend.call_id: ("approve", "arne"),
        api.call_id: ("expired", "engine"),
        delete.call_id: ("reject", "arne"),
    }


async def test_replay_of_an_engine_conversation_matches_what_happened(
    factory: HarnessFactory,
) -> None:
    h = await factory.open(SCRIPTS)
    scale_run = await _scale_run(h)
    shrink_run, _ = await _shrink_run(h)
    direct = await h.engine.submit_call(h.conversation.id, h.operator, "k_get", {"name": "api"})
    await h.engine.wait_idle()
    run_ids = [scale_run, shrink_run, direct.id]

    timeline = await replay.replay(h.store, h.conversation.id)
    events = await h.events()
    usernames = {u.id: u.username for u in await h.store.list_users()}

    # Runs: who asked what, what the model planned, what the person was told, how it ended.
    runs = {r.id: r for r in await h.store.list_runs(h.conversation.id)}
    assert [r.run_id for r in timeline.runs] == run_ids
    assert set(runs) == set(run_ids)
    started = {e["run_id"]: e for e in _stream(events, "run.started")}
    answers = {e["run_id"]: e["text"] for e in _stream(events, "answer")}
    # Nothing of the shrink run ran (one change rejected, the others ran out): `rejected`.
    ended = {scale_run: "completed", shrink_run: "rejected", direct.id: "completed"}
    for run_view in timeline.runs:
        run_record = runs[run_view.run_id]
        assert (
            (run_view.status, run_view.reason)
            == (run_record.status, run_record.reason)
            == (ended[run_view.run_id], None)
        )
        assert run_view.requested_by == usernames[run_record.requested_by] == "olga"
        assert run_view.request == started[run_view.run_id]["text"]
        assert run_view.answer == answers[run_view.run_id]
        plans = [e for e in _stream(events, "plan") if e["run_id"] == run_view.run_id]
        assert [(p.text, p.call_ids) for p in run_view.plans] == [
            (e["text"], [c["call_id"] for c in e["calls"]]) for e in plans
        ]
    asked = [m.text for m in await h.store.list_messages(h.conversation.id) if m.role == "user"]
    assert [runs_view.request for runs_view in timeline.runs[:2]] == asked
    assert asked == ["scale frontend to 3", "shrink everything"]
    assert timeline.runs[0].answer == "Done: frontend runs 3 replicas; api was kept."

    # Calls: every stored call, with its classification, arguments, status and output.
    stored = await h.store.list_calls(conversation_id=h.conversation.id)
    calls = {c.call_id: c for c in timeline.calls}
    assert set(calls) == {c.id for c in stored}
    planned = {c["call_id"]: c for e in _stream(events, "plan") for c in e["calls"]}
    for call_record in stored:
        seen = calls[call_record.id]
        assert (seen.run_id, seen.tool, seen.args, seen.context) == (
            call_record.run_id,
            call_record.tool,
            call_record.args,
            call_record.context,
        )
        assert (
            seen.classification
            == call_record.classification
            == planned[call_record.id]["classification"]
        )
        assert seen.destructive == call_record.destructive
        assert seen.status == call_record.status, call_record.tool
        assert seen.approval_id == call_record.approval_id
        assert (seen.output, seen.output_sha256, seen.output_size) == (
            call_record.output,
            call_record.output_sha256,
            call_record.output_size,
        )
        assert (seen.exit_code, seen.truncated) == (call_record.exit_code, call_record.truncated)
        if seen.call_hash is not None:
            assert seen.call_hash == call_record.call_hash
    finished = {e["call_id"]: e for e in _stream(events, "tool.finished")}
    assert {i for i, c in calls.items() if c.finished_at is not None} == set(finished)
    verdicts = {e["call_id"]: e["verdict"] for e in _stream(events, "verify")}
    after_check = {
        "verified": "verified",
        "failed": "verification_failed",
        "not_verified": "not_verified",
    }
    for call_id, event in finished.items():
        expected = after_check.get(verdicts.get(call_id, ""), event["status"])
        assert calls[call_id].status == expected

    in_scale = [c for c in stored if c.run_id == scale_run]
    got, env = _by_tool(in_scale, "k_get"), _by_tool(in_scale, "k_env")
    invalid = _by_tool(in_scale, "k_scale", replicas=99)
    assert (calls[got.id].status, calls[got.id].output) == (
        "succeeded",
        "deployment/frontend replicas=2",
    )
    assert calls[invalid.id].status == "invalid"
    assert calls[invalid.id].error
    assert {c.classification for c in (got, env)} == {"read"}
    assert calls[env.id].output == "DB_HOST=db\nDB_PASSWORD=**REDACTED**\n"

    # Approvals: who decided what, with which reason; expiry where nobody did.
    approvals = await h.store.list_approvals(conversation_id=h.conversation.id)
    views = {a.approval_id: a for a in timeline.approvals}
    assert set(views) == {a.id for a in approvals}
    for request in approvals:
        approval_view = views[request.id]
        assert approval_view.run_id == request.run_id
        assert approval_view.call_ids == [i.call_id for i in request.items]
        assert approval_view.expires_at is not None
        assert _instant(approval_view.expires_at) == request.expires_at.timestamp()
        for item in request.items:
            call = calls[item.call_id]
            assert call.call_hash == item.call_hash
            assert call.decision is not None
            if item.decision is None:
                assert (item.status, call.decision.decision, call.decision.by) == (
                    "expired",
                    "expired",
                    "engine",
                )
                continue
            assert (call.decision.decision, call.decision.by, call.decision.by_id) == (
                item.decision.decision,
                item.decision.decided_by_name,
                item.decision.decided_by,
            )
            assert call.decision.reason == item.decision.reason
    scale_calls = {c.tool: calls[c.id] for c in in_scale if c.classification == "mutation"}
    assert scale_calls["k_delete"].decision is not None
    assert (scale_calls["k_delete"].status, scale_calls["k_delete"].decision.reason) == (
        "rejected",
        "api still serves traffic",
    )

    # Verification: the outcome the engine reported, on the call it checked.
    verified = {e["call_id"]: (e["verdict"], e["summary"]) for e in _stream(events, "verify")}
    assert verified == {
        i: (c.verification.verdict, c.verification.summary)
        for i, c in calls.items()
        if c.verification is not None
    }
    scale = _by_tool(in_scale, "k_scale", replicas=3)
    assert list(verified) == [scale.id]
    assert verified[scale.id][0] == "verified"
    assert h.cluster.mutations() == [("scale", "frontend", "3")]

    # The timeline is the audit log, in order; and the secret never reached it.
    audit = [a async for a in h.store.iter_audit()]
    assert [(e.seq, e.kind) for e in timeline.entries] == [
        (a.seq, a.kind) for a in audit if a.conversation_id == h.conversation.id
    ]
    assert SECRET not in json.dumps([a.model_dump(mode="json") for a in audit])
    assert SECRET not in timeline.model_dump_json()


def _instant(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
