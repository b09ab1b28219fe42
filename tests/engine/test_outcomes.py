"""Every run ends with the status its calls earned, and says why (issue: truthful outcomes).

Through the real engine with the scripted model, the real MCP tool server and the fake cluster
of `tests.fixtures.engine`; each test names the situation a user saw reported wrongly.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from opsgate.domain.calls import ToolSpec
from opsgate.engine import policy
from opsgate.engine.deps import Limits
from opsgate.errors import DecisionRefused
from opsgate.tools.base import ToolEnv, ToolOutput, ToolParams
from tests.fixtures.calls import stored_call
from tests.fixtures.engine import Harness, HarnessFactory, NameParams, engine_tools

SCALE_THEN_ANSWER = """
scripts:
  - match: "scale"
    turns:
      - tool_calls: [{name: k_scale, args: {name: api, replicas: 4}}]
      - text: "Here is what happened."
"""


async def _finished(h: Harness, run_id: str) -> dict[str, Any]:
    [event] = [e.data for e in await h.events(run_id) if e.type == "run.finished"]
    return event


async def _pending_item(h: Harness, run_id: str) -> tuple[str, str]:
    approval_id = await h.pending_approval_id(run_id)
    [item] = (await h.store.get_approval(approval_id)).items
    return approval_id, item.call_id


async def test_a_failed_read_does_not_complete_in_green(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(h.conversation.id, h.operator, "k_get", {"name": "ghost"})
    await h.engine.wait_run(run.id)
    finished = await h.store.get_run(run.id)
    assert (finished.status, finished.reason) == (
        "completed_with_failures",
        "1 call failed; 1 read",
    )
    event = await _finished(h, run.id)
    assert event["status"] == "completed_with_failures"
    assert event["summary"]["failed"] == 1
    [audited] = [a for a in await h.store.list_audit(limit=100) if a.kind == "run.finished"]
    assert audited.payload["status"] == "completed_with_failures"


async def test_rejecting_the_only_change_ends_the_run_rejected(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(SCALE_THEN_ANSWER)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale api")
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    await h.engine.decide(approval_id, call_id, h.approver, approve=False, reason="not now")
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "rejected"
    assert (await _finished(h, run.id))["summary"]["rejected"] == 1
    assert h.cluster.mutations() == []


async def test_an_expired_approval_ends_the_run_expired(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(SCALE_THEN_ANSWER)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale api")
    await h.engine.wait_run(run.id)
    h.clock.now += 16 * 60
    await h.engine.expire_due()
    await h.engine.wait_idle()
    assert (await h.store.get_run(run.id)).status == "expired"
    assert h.cluster.mutations() == []


async def test_a_check_that_does_not_say_what_it_proved_is_not_verified(
    harnesses: HarnessFactory,
) -> None:
    """A verify recipe that only reads back (no `Verification`) never makes a change green."""
    tools = engine_tools()

    async def read_back(params: NameParams, env: ToolEnv) -> ToolOutput:
        return await tools["k_get"].run(params, env)

    scale = dataclasses.replace(tools["k_scale"], verify=read_back, verifies=None)
    harnesses.tools = {**tools, "k_scale": scale}
    h = await harnesses.open(SCALE_THEN_ANSWER)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale api")
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert (await stored_call(h.store, call_id)).status == "not_verified"
    [verify] = [e.data for e in await h.events(run.id) if e.type == "verify"]
    assert verify["verdict"] == "not_verified"
    assert verify["summary"].startswith("the check passed: deployment/api replicas=4")
    event = await _finished(h, run.id)
    # Completed (the change ran and its tool could not prove more), but never "verified".
    assert (event["status"], event["summary"]["not_verified"], event["summary"]["verified"]) == (
        "completed",
        1,
        0,
    )


async def test_a_change_without_a_declared_check_is_not_verified(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(h.conversation.id, h.operator, "k_delete", {"name": "api"})
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason="retired")
    await h.engine.wait_run(run.id)
    assert (await stored_call(h.store, call_id)).status == "not_verified"
    [verify] = [e.data for e in await h.events(run.id) if e.type == "verify"]
    assert verify["summary"] == (
        "k_delete declares no check: the change ran, nothing verified its effect"
    )


async def test_stop_during_verification_cancels_it_and_ends_the_run_stopped(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(SCALE_THEN_ANSWER)
    checking = asyncio.Event()

    async def hold_the_check(argv: tuple[str, ...]) -> None:
        if argv[0] == "status":
            checking.set()
            await asyncio.Event().wait()  # a rollout that never finishes

    h.cluster.on_run = hold_the_check
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale api")
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason=None)
    await asyncio.wait_for(checking.wait(), 10)

    await h.engine.stop(run.id, h.operator)
    await asyncio.wait_for(h.engine.wait_run(run.id), 10)

    finished = await h.store.get_run(run.id)
    assert (finished.status, finished.reason) == ("stopped", "stopped by olga")
    assert h.cluster.mutations() == [("scale", "api", "4")]  # the change itself had finished
    assert (await stored_call(h.store, call_id)).status == "not_verified"
    [verify] = [e.data for e in await h.events(run.id) if e.type == "verify"]
    assert verify["summary"].startswith("stopped by olga before the check finished")
    event = await _finished(h, run.id)
    assert (event["status"], event["stopped_by"]) == ("stopped", "olga")
    types = await h.event_types(run.id)
    assert "answer" not in types  # no further step ran
    [audited] = [a for a in await h.store.list_audit(limit=100) if a.kind == "run.finished"]
    assert (audited.payload["status"], audited.payload["stopped_by"]) == ("stopped", "olga")


async def test_an_approval_in_the_last_moment_of_its_ttl_runs(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 3}
    )
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    request = await h.store.get_approval(approval_id)
    h.clock.now = request.expires_at.timestamp() - 0.05
    resume = h.engine._resume

    async def resume_a_little_later(run_id: str) -> None:
        h.clock.now += 0.2  # the run picks the decision up after the request's expiry
        await resume(run_id)

    h.engine._resume = resume_a_little_later  # type: ignore[method-assign]
    await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_idle()
    assert h.cluster.mutations() == [("scale", "api", "3")]
    assert (await stored_call(h.store, call_id)).status == "verified"
    assert (await h.store.get_run(run.id)).status == "completed"


async def test_a_failed_dry_run_needs_an_override_reason_to_approve(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "ghost", "replicas": 3}
    )
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    assert (item.preview_state, item.command) == (
        "failed",
        "kubectl scale deployment/ghost --replicas=3",
    )
    [requested] = [e.data for e in await h.events(run.id) if e.type == "approval.requested"]
    assert requested["calls"][0]["preview_state"] == "failed"
    with pytest.raises(DecisionRefused, match="dry run of this change failed"):
        await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason=None)
    await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason="it exists now")
    await h.engine.wait_run(run.id)
    [granted] = [a for a in await h.store.list_audit(limit=100) if a.kind == "approval.granted"]
    assert (granted.payload["override"], granted.payload["reason"]) == (True, "it exists now")


async def test_a_no_op_change_is_previewed_as_such(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 1}
    )
    await h.engine.wait_run(run.id)
    approval_id, _ = await _pending_item(h, run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    assert item.preview_state == "no_change"


async def test_the_started_change_records_the_command_the_approver_saw(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 5}
    )
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    [started] = [e.data for e in await h.events(run.id) if e.type == "tool.started"]
    assert started["command"] == "kubectl scale deployment/api --replicas=5"
    [audited] = [a for a in await h.store.list_audit(limit=100) if a.kind == "tool.started"]
    assert audited.payload["command"] == started["command"]


async def test_pausing_and_resuming_are_their_own_events(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 5}
    )
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    types = await h.event_types(run.id)
    assert types.index("run.paused") < types.index("run.resumed") < types.index("tool.started")
    assert types.count("run.finished") == 1
    assert "error" not in types  # the browser's EventSource reserves that name


def test_a_direct_call_takes_the_conversation_namespace_by_default() -> None:
    class WithNamespace(ToolParams):
        namespace: str | None = None
        all_namespaces: bool = False

    get = engine_tools()["k_get"]
    tools = {
        "t": ToolSpec(
            name="t",
            description="",
            input_schema=WithNamespace.model_json_schema(),
            annotations=get.annotations,
        )
    }
    assert policy.with_default_namespace(tools, "t", {}, "shop") == {"namespace": "shop"}
    assert policy.with_default_namespace(tools, "t", {"namespace": "kube-system"}, "shop") == {
        "namespace": "kube-system"
    }
    assert policy.with_default_namespace(tools, "t", {"all_namespaces": True}, "shop") == {
        "all_namespaces": True
    }
    assert policy.with_default_namespace(tools, "t", {}, None) == {}


async def test_a_refused_decision_changes_nothing(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None, limits=Limits(require_distinct_approver=True))
    run = await h.engine.submit_call(
        h.conversation.id, h.approver, "k_scale", {"name": "api", "replicas": 2}
    )
    await h.engine.wait_run(run.id)
    approval_id, call_id = await _pending_item(h, run.id)
    with pytest.raises(DecisionRefused):
        await h.engine.decide(approval_id, call_id, h.approver, approve=True, reason="x")
    kinds = [a.kind for a in await h.store.list_audit(limit=100)]
    assert "approval.granted" not in kinds
    assert (await h.store.get_approval(approval_id)).status == "pending"
