"""The loop end to end on the compiled graph: reads flow, mutations pause, approvals gate."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Any

import pytest
from langgraph.types import Command

from opsgate.domain.canonical import call_hash
from opsgate.engine.deps import Limits
from opsgate.engine.models.base import ModelMessage
from opsgate.errors import Conflict, DecisionRefused, Forbidden
from opsgate.store.records import ApprovalRequest
from tests.fixtures.calls import stored_call
from tests.fixtures.engine import HarnessFactory

INVESTIGATE = """
scripts:
  - match: "why"
    turns:
      - text: "Looking."
        tool_calls: [{name: k_get, args: {name: frontend}}, {name: k_get, args: {name: api}}]
      - text: "frontend has 2 replicas and api has 1."
"""

SCALE = """
scripts:
  - match: "scale"
    turns:
      - text: "Checking first."
        tool_calls: [{name: k_get, args: {name: frontend}}]
      - text: "Scaling frontend to 3."
        tool_calls: [{name: k_scale, args: {name: frontend, replicas: 3}}]
      - text: "Done: frontend now has 3 replicas."
"""


async def test_read_only_investigation_never_pauses(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(INVESTIGATE)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "why is api down?")
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "completed"
    types = await h.event_types(run.id)
    assert "approval.requested" not in types
    assert types[-2:] == ["answer", "run.finished"]
    assert h.cluster.calls == [("get", "frontend"), ("get", "api")]
    calls = await h.store.list_calls(run_id=run.id)
    assert {c.classification for c in calls} == {"read"}
    assert {c.context for c in calls} == {"sandbox"}
    assert await h.store.list_approvals(conversation_id=h.conversation.id) == []


async def test_scale_pauses_runs_once_after_approval_and_is_verified(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(SCALE)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend to 3")
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "awaiting_approval"
    assert h.cluster.mutations() == []
    approval_id = await h.pending_approval_id(run.id)
    approval = await h.store.get_approval(approval_id)
    [item] = approval.items
    assert item.tool == "k_scale"
    assert item.args == {"name": "frontend", "replicas": 3, "context": "sandbox"}
    assert item.preview == "would scale frontend to 3"

    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)

    finished = await h.store.get_run(run.id)
    assert finished.status == "completed"
    assert (finished.model_turns, finished.tool_calls) == (3, 2)
    assert h.cluster.mutations() == [("scale", "frontend", "3")]
    assert h.cluster.replicas["frontend"] == 3
    assert ("status", "frontend") in h.cluster.calls
    assert (await stored_call(h.store, item.call_id)).status == "verified"
    verify = [e for e in await h.events(run.id) if e.type == "verify"]
    assert [e.data["verdict"] for e in verify] == ["verified"]
    kinds = [a.kind for a in await h.store.list_audit(limit=1000)]
    for kind in ("request", "plan", "approval.requested", "approval.granted", "tool.started"):
        assert kind in kinds
    assert kinds[-1] == "run.finished"


async def test_rejection_reaches_the_model_with_its_reason(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(SCALE)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend to 3")
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    with pytest.raises(DecisionRefused):
        await h.engine.decide(approval_id, item.call_id, h.approver, approve=False, reason=None)
    await h.engine.decide(
        approval_id, item.call_id, h.approver, approve=False, reason="freeze until Monday"
    )
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == []
    state = await h.engine.run_state(run.id)
    seen = [ModelMessage.model_validate(m) for m in state["messages"]]
    rejected = [m for m in seen if m.role == "tool" and "freeze until Monday" in m.content]
    assert rejected
    assert "rejected by 'arne'" in rejected[0].content or "rejected by arne" in rejected[0].content
    assert (await stored_call(h.store, item.call_id)).status == "rejected"


async def test_second_approval_of_the_same_call_is_refused(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(SCALE)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend to 3")
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    with pytest.raises(Conflict):
        await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == [("scale", "frontend", "3")]


async def test_non_approver_is_refused(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(SCALE)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend to 3")
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    for user in (h.operator, h.viewer):
        with pytest.raises(Forbidden):
            await h.engine.decide(approval_id, item.call_id, user, approve=True, reason="ok")
    assert (await h.store.get_approval(approval_id)).status == "pending"
    assert h.cluster.mutations() == []


async def test_expired_approval_is_refused_and_nothing_runs(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(SCALE)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend to 3")
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    h.clock.now += 16 * 60
    with pytest.raises(Conflict):
        await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.expire_due()
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == []
    assert (await stored_call(h.store, item.call_id)).status == "expired"
    assert "approval.expired" in await h.event_types(run.id)


async def test_tampered_arguments_after_approval_are_refused(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(SCALE)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend to 3")
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    config = {"configurable": {"thread_id": run.id}}
    pending = [dict(c) for c in (await h.engine.run_state(run.id))["pending"]]
    for call in pending:
        if call["tool"] == "k_scale":
            call["args"] = {**call["args"], "replicas": 40}
    # Rewrite the checkpointed arguments, leaving the run where it waits: at the gate.
    tampered = Command(update={"run": {"pending": pending}}, goto="gate")
    await h.engine.graph.aupdate_state(config, tampered, as_node="request_approval")  # type: ignore[arg-type]

    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)

    assert h.cluster.mutations() == []
    assert h.cluster.replicas["frontend"] == 2
    assert (await stored_call(h.store, item.call_id)).status == "refused"
    refused = [a for a in await h.store.list_audit(limit=1000) if a.payload.get("refused")]
    assert [a.call_id for a in refused] == [item.call_id]


async def test_a_decision_landing_before_the_run_reaches_the_gate_is_not_lost(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    open_request = h.store.create_approval

    async def open_and_decide_at_once(**kwargs: Any) -> ApprovalRequest:
        request = await open_request(**kwargs)
        # The approver is quicker than the graph: decided before the gate has even paused.
        for item in request.items:
            await h.engine.decide(request.id, item.call_id, h.approver, approve=True, reason=None)
        return request

    h.store.create_approval = open_and_decide_at_once  # type: ignore[method-assign]
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 3}
    )
    await h.engine.wait_idle()
    assert h.cluster.mutations() == [("scale", "api", "3")]
    assert (await h.store.get_run(run.id)).status == "completed"


async def test_after_a_rejection_the_model_may_propose_an_alternative_needing_its_own_approval(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(
        """
scripts:
  - match: "scale"
    turns:
      - tool_calls: [{name: k_scale, args: {name: frontend, replicas: 10}}]
      - text: "Ten was too many; proposing four."
        tool_calls: [{name: k_scale, args: {name: frontend, replicas: 4}}]
      - text: "frontend runs 4."
"""
    )
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale frontend up")
    await h.engine.wait_run(run.id)
    first_id = await h.pending_approval_id(run.id)
    [first] = (await h.store.get_approval(first_id)).items
    await h.engine.decide(first_id, first.call_id, h.approver, approve=False, reason="max 4")
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "awaiting_approval"
    assert h.cluster.mutations() == []
    second_id = await h.pending_approval_id(run.id)
    assert second_id != first_id
    [second] = (await h.store.get_approval(second_id)).items
    assert second.args["replicas"] == 4
    await h.engine.decide(second_id, second.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == [("scale", "frontend", "4")]
    assert (await h.store.get_run(run.id)).status == "completed"


async def test_mutations_of_one_turn_pause_together_and_are_decided_one_by_one(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(
        """
scripts:
  - match: "both"
    turns:
      - tool_calls:
          - {name: k_scale, args: {name: frontend, replicas: 5}}
          - {name: k_scale, args: {name: api, replicas: 2}}
          - {name: k_delete, args: {name: api}}
      - text: "frontend scaled and api scaled; api kept."
"""
    )
    run = await h.engine.submit_message(h.conversation.id, h.operator, "both changes")
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    scale_frontend, scale_api, delete_api = (await h.store.get_approval(approval_id)).items
    assert delete_api.destructive
    await h.engine.decide(approval_id, scale_frontend.call_id, h.approver, True, None)
    await h.engine.decide(approval_id, delete_api.call_id, h.approver, False, "keep api")
    await h.engine.wait_idle()
    assert (await h.store.get_run(run.id)).status == "awaiting_approval"
    assert h.cluster.mutations() == []
    await h.engine.decide(approval_id, scale_api.call_id, h.approver, True, None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == [("scale", "frontend", "5"), ("scale", "api", "2")]
    statuses = [(await stored_call(h.store, i.call_id)).status for i in (scale_frontend, scale_api)]
    assert statuses == ["verified", "verified"]
    assert (await stored_call(h.store, delete_api.call_id)).status == "rejected"
    assert (await h.store.get_run(run.id)).status == "completed"


async def test_an_approval_resumed_after_its_expiry_does_not_run(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    open_request = h.store.create_approval

    async def approve_then_let_time_pass(**kwargs: Any) -> ApprovalRequest:
        request = await open_request(**kwargs)
        [item] = request.items
        await h.engine.decide(request.id, item.call_id, h.approver, approve=True, reason=None)
        # The process was away longer than the approval and its grace to start last.
        h.clock.now += 15 * 60 + Limits().execution_grace_s + 1
        return request

    h.store.create_approval = approve_then_let_time_pass  # type: ignore[method-assign]
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 7}
    )
    await h.engine.wait_idle()
    assert h.cluster.mutations() == []
    [call] = await h.store.list_calls(run_id=run.id)
    assert call.status == "expired"
    # Said so: the approval's lapse is audited and streamed, and the run ended `expired`.
    assert "approval.expired" in await h.event_types(run.id)
    assert (await h.store.get_run(run.id)).status == "expired"


async def test_a_change_without_a_context_is_bound_to_the_cluster_current_when_proposed(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    # A conversation that names no context: kubectl would use whatever is current.
    open_conversation = await h.store.create_conversation("any", h.operator.id, [], "shop")
    run = await h.engine.submit_call(
        open_conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 2}
    )
    await h.engine.wait_run(run.id)
    [request] = await h.store.list_approvals(conversation_id=open_conversation.id)
    [item] = request.items
    assert (item.context, item.args["context"]) == ("sandbox", "sandbox")
    events = await h.store.events_after(open_conversation.id, 0)
    [asked] = [e.data for e in events if e.type == "approval.requested"]
    assert asked["calls"][0]["cluster"] == "https://fake.test"
    # The kubeconfig's current context moves on; the approved call still names its own.
    h.cluster.servers["elsewhere"] = "https://elsewhere.test"
    h.cluster.current = "elsewhere"
    await h.engine.decide(request.id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == [("scale", "api", "2")]
    assert (await stored_call(h.store, item.call_id)).status == "verified"


async def test_a_context_repointed_at_another_cluster_after_approval_is_refused(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 9}
    )
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    h.cluster.servers["sandbox"] = "https://prod.example"  # the kubeconfig was edited
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == []
    call = await stored_call(h.store, item.call_id)
    assert call.status == "refused"
    assert "no longer resolves to the approved cluster" in (call.output or "")
    assert "https://prod.example" in (call.output or "")
    refused = [
        a
        for a in await h.store.list_audit(limit=1000)
        if a.kind == "tool.finished" and a.payload.get("refused")
    ]
    assert [a.call_id for a in refused] == [item.call_id]
    assert (await h.store.get_run(run.id)).status == "completed_with_failures"


def _raw_db(harnesses: HarnessFactory) -> sqlite3.Connection:
    """The harness's database as an attacker with write access to it would open it."""
    return sqlite3.connect(harnesses.data_dir / "opsgate.db", isolation_level=None)


async def test_a_decision_written_only_in_the_database_does_not_run(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 6}
    )
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    with contextlib.closing(_raw_db(harnesses)) as db:
        db.execute(
            "UPDATE approval_items SET status='approved', decision='approve', decided_by=?, "
            "decided_by_name='arne', decided_at=created FROM (SELECT CURRENT_TIMESTAMP AS "
            "created) WHERE call_id=?",
            (h.approver.id, item.call_id),
        )
        db.execute("UPDATE tool_calls SET status='approved' WHERE id=?", (item.call_id,))
    await h.engine._resume(run.id)  # whatever wakes the run: a restart, a sweep
    await h.engine.wait_idle()
    assert h.cluster.mutations() == []
    call = await stored_call(h.store, item.call_id)
    assert call.status == "refused"
    assert "the audit log holds no approval of this call" in (call.output or "")


async def test_arguments_rewritten_in_the_database_and_the_checkpoint_do_not_run(
    harnesses: HarnessFactory,
) -> None:
    """Approved `replicas=4`; an attacker rewrites every mutable copy to 9, hashes included."""
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 4}
    )
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == [("scale", "api", "4")]

    # A second change of the same run shape: proposed with 4, rewritten to 9 before it runs.
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 5}
    )
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    forged = {**item.args, "replicas": 9}
    bound = (await stored_call(h.store, item.call_id)).cluster
    state = await h.engine.run_state(run.id)
    [pending] = [dict(c) for c in state["pending"]]
    fingerprint = pending["cluster"]["fingerprint"]
    forged_hash = call_hash("k_scale", forged, item.context, fingerprint)
    pending.pop("sealed")  # a state written as if by an engine before arguments were sealed
    pending.update(args=forged, call_hash=forged_hash)
    config = {"configurable": {"thread_id": run.id}}
    tampered = Command(update={"run": {"pending": [pending]}}, goto="gate")
    await h.engine.graph.aupdate_state(config, tampered, as_node="request_approval")  # type: ignore[arg-type]
    with contextlib.closing(_raw_db(harnesses)) as db:
        db.execute(
            "UPDATE tool_calls SET args=?, call_hash=? WHERE id=?",
            (json.dumps(forged), forged_hash, item.call_id),
        )
    assert bound is not None
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == [("scale", "api", "4")]  # nothing more ran
    call = await stored_call(h.store, item.call_id)
    assert call.status == "refused"
    assert "the audit log says was put up for approval" in (call.output or "")


async def test_arguments_shown_for_approval_that_differ_from_the_sealed_ones_do_not_run(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 7}
    )
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    with contextlib.closing(_raw_db(harnesses)) as db:  # the card would now show 2
        db.execute(
            "UPDATE tool_calls SET args=? WHERE id=?",
            (json.dumps({**item.args, "replicas": 2}), item.call_id),
        )
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == []
    call = await stored_call(h.store, item.call_id)
    assert call.status == "refused"
    assert "the arguments shown for approval differ" in (call.output or "")
