"""The direct path, guards, validation and context policy, through the compiled graph."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple

from opsgate.engine.deps import Limits
from opsgate.engine.engine import Engine
from opsgate.engine.models.base import ModelChunk, ModelMessage, ToolSchema
from opsgate.engine.models.scripted import ScriptedModel
from opsgate.engine.saver import ThreadedSqliteSaver
from opsgate.errors import Conflict, DecisionRefused, Forbidden
from tests.fixtures.calls import stored_call
from tests.fixtures.engine import Harness, HarnessFactory


async def _model_view(h: Harness, run_id: str) -> list[ModelMessage]:
    state = await h.engine.run_state(run_id)
    return [ModelMessage.model_validate(m) for m in state["messages"]]


async def test_direct_read_runs_without_a_model_or_approval(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(h.conversation.id, h.operator, "k_get", {"name": "api"})
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "completed"
    assert h.cluster.calls == [("get", "api")]
    [answer] = [e.data["text"] for e in await h.events(run.id) if e.type == "answer"]
    assert "deployment/api replicas=1" in answer


async def test_direct_mutation_pauses_and_runs_once_approved(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    args = {"name": "api", "replicas": 0}
    run = await h.engine.submit_call(h.conversation.id, h.operator, "k_scale", args)
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "awaiting_approval"
    assert h.cluster.mutations() == []
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == [("scale", "api", "0")]
    assert (await h.store.get_run(run.id)).status == "completed"
    [answer] = [e.data["text"] for e in await h.events(run.id) if e.type == "answer"]
    assert "k_scale: verified: deployment 'api' rolled out" in answer


async def test_destructive_approval_needs_a_reason(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(h.conversation.id, h.operator, "k_delete", {"name": "api"})
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    assert item.destructive
    with pytest.raises(DecisionRefused, match="needs a reason"):
        await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=" ")
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason="gone")
    await h.engine.wait_run(run.id)
    assert h.cluster.mutations() == [("delete", "api")]


async def test_distinct_approver_rule_refuses_the_requester(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None, limits=Limits(require_distinct_approver=True))
    run = await h.engine.submit_call(
        h.conversation.id, h.approver, "k_scale", {"name": "api", "replicas": 2}
    )
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    with pytest.raises(DecisionRefused, match="requester"):
        await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason="x")
    assert h.cluster.mutations() == []


async def test_unknown_tool_and_bad_arguments_go_back_to_the_model(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(
        """
scripts:
  - match: "check"
    turns:
      - tool_calls:
          - {name: k_nuke, args: {}}
          - {name: k_get, args: {name: "Bad Name!"}}
          - {name: k_get, args: {name: api, context: prod}}
      - text: "I could not check."
"""
    )
    run = await h.engine.submit_message(h.conversation.id, h.operator, "check api")
    await h.engine.wait_run(run.id)
    assert h.cluster.calls == []
    # The model answered, but none of its three calls could run: the request was not done.
    finished = await h.store.get_run(run.id)
    assert (finished.status, finished.reason) == ("failed", "3 calls invalid")
    results = [m.content for m in await _model_view(h, run.id) if m.role == "tool"]
    assert len(results) == 3
    assert "no tool named 'k_nuke'" in results[0]
    assert "name:" in results[1]
    assert "Bad Name!" not in results[1]
    assert "context 'prod' is not allowed" in results[2]
    statuses = {c.status for c in await h.store.list_calls(run_id=run.id)}
    assert statuses == {"invalid"}


async def test_model_turn_limit_fails_the_run_cleanly(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(
        """
scripts:
  - match: "loop"
    turns:
      - tool_calls: [{name: k_get, args: {name: api}}]
      - tool_calls: [{name: k_get, args: {name: api}}]
      - tool_calls: [{name: k_get, args: {name: api}}]
""",
        limits=Limits(max_model_turns=2),
    )
    run = await h.engine.submit_message(h.conversation.id, h.operator, "loop forever")
    await h.engine.wait_run(run.id)
    finished = await h.store.get_run(run.id)
    assert finished.status == "failed"
    assert "limit of 2 turns" in (finished.reason or "")
    assert len(h.cluster.calls) == 2


async def test_tool_call_limit_refuses_calls_beyond_it(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(
        """
scripts:
  - match: "many"
    turns:
      - tool_calls: [{name: k_get, args: {name: api}}, {name: k_get, args: {name: frontend}}]
      - tool_calls: [{name: k_get, args: {name: api}}]
      - text: "stopped reading"
""",
        limits=Limits(max_tool_calls=2),
    )
    run = await h.engine.submit_message(h.conversation.id, h.operator, "many reads")
    await h.engine.wait_run(run.id)
    assert len(h.cluster.calls) == 2
    assert (await h.store.get_run(run.id)).status == "failed"


async def test_stop_while_awaiting_approval_ends_stopped_and_never_runs(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 5}
    )
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    stopped = await h.engine.stop(run.id, h.operator)
    assert stopped.status == "stopped"
    # The request closes with the run: nobody is asked to approve a change that won't run.
    request = await h.store.get_approval(approval_id)
    assert request.status == "expired"
    with pytest.raises(Conflict):
        await h.engine.decide(
            approval_id, request.items[0].call_id, h.approver, approve=True, reason=None
        )
    await h.engine.wait_idle()
    assert h.cluster.mutations() == []
    assert (await h.store.get_run(run.id)).status == "stopped"
    kinds = [e.type for e in await h.events(run.id)]
    assert "approval.expired" in kinds
    assert kinds.count("run.paused") == 1
    ends = [e.data for e in await h.events(run.id) if e.type == "run.finished"]
    assert [(e["status"], e["stopped_by"]) for e in ends] == [("stopped", "olga")]
    audit = await h.store.list_audit(limit=1000)
    finished = [a for a in audit if a.kind == "run.finished"]
    assert [a.payload["status"] for a in finished] == ["stopped"]
    [expired] = [a for a in audit if a.kind == "approval.expired"]
    assert expired.payload["reason"] == "the run was stopped by olga"


async def test_failed_verification_is_reported_and_model_told_not_to_claim_success(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(
        """
scripts:
  - match: "scale"
    turns:
      - tool_calls: [{name: k_scale, args: {name: api, replicas: 4}}]
      - text: "The rollout failed; I propose scaling back."
"""
    )
    h.cluster.verify_fails = True
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale api to 4")
    await h.engine.wait_run(run.id)
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)
    verify = [e.data for e in await h.events(run.id) if e.type == "verify"]
    assert [v["verdict"] for v in verify] == ["failed"]
    assert verify[0]["rollback"] == {"tool": "k_scale", "args": {"name": "api"}}
    [result] = [m.content for m in await _model_view(h, run.id) if m.role == "tool"]
    assert "verification FAILED: deployment 'api' exceeded its progress deadline" in result
    assert 'To undo it, propose k_scale with {"name": "api"} (it needs approval).' in result
    assert "Do not claim success." in result
    assert (await stored_call(h.store, item.call_id)).status == "verification_failed"
    finished = await h.store.get_run(run.id)
    assert finished.status == "completed_with_failures"
    assert finished.reason == "1 change run: 1 verification failed"


async def test_streamed_tokens_are_coalesced_and_add_up_to_the_answer(
    harnesses: HarnessFactory,
) -> None:
    answer = " ".join(f"word{i}" for i in range(120))
    h = await harnesses.open(f'scripts: [{{match: "talk", turns: [{{text: "{answer}"}}]}}]')
    run = await h.engine.submit_message(h.conversation.id, h.operator, "talk to me")
    await h.engine.wait_run(run.id)
    tokens = [e.data["text"] for e in await h.events(run.id) if e.type == "token"]
    assert "".join(tokens) == answer
    assert 1 < len(tokens) < 120
    [final] = [e.data["text"] for e in await h.events(run.id) if e.type == "answer"]
    assert final == answer


async def test_stop_during_a_run_ends_it_cleanly_between_steps(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(
        """
scripts:
  - match: "look"
    turns:
      - tool_calls: [{name: k_get, args: {name: api}}, {name: k_get, args: {name: frontend}}]
      - tool_calls: [{name: k_get, args: {name: api}}]
      - text: "never reached"
"""
    )
    run_ids: list[str] = []

    async def stop_on_first_read(argv: tuple[str, ...]) -> None:
        if len(h.cluster.calls) == 1:
            await h.engine.stop(run_ids[0], h.operator)

    h.cluster.on_run = stop_on_first_read
    run = await h.engine.submit_message(h.conversation.id, h.operator, "look around")
    run_ids.append(run.id)
    await h.engine.wait_run(run.id)
    finished = await h.store.get_run(run.id)
    assert finished.status == "stopped"
    assert h.cluster.calls == [("get", "api")]
    types = await h.event_types(run.id)
    assert types[-1] == "run.finished"
    assert "error" not in types
    assert "answer" not in types


class _RecordingModel:
    """The scripted model, remembering what each turn was given."""

    name = "recording"

    def __init__(self, script: str) -> None:
        self.inner = ScriptedModel.from_yaml(script)
        self.seen: list[tuple[list[ModelMessage], list[ToolSchema]]] = []

    def stream(
        self, messages: list[ModelMessage], tools: list[ToolSchema]
    ) -> AsyncIterator[ModelChunk]:
        self.seen.append((messages, tools))
        return self.inner.stream(messages, tools)


async def test_the_model_sees_the_prompt_cluster_context_and_schemas_without_context(
    harnesses: HarnessFactory,
) -> None:
    model = _RecordingModel('scripts: [{match: "hi", turns: [{text: "hello"}]}]')
    h = await harnesses.open(None, model=model)
    run = await h.engine.submit_message(h.conversation.id, h.operator, "hi there")
    await h.engine.wait_run(run.id)
    [(messages, tools)] = model.seen
    system = messages[0]
    assert system.role == "system"
    assert "approvals" in system.content
    assert "Cluster context of this conversation: 'sandbox'" in system.content
    assert "Default namespace: 'shop'" in system.content
    assert messages[-1] == ModelMessage(role="user", content="hi there")
    scale = next(t for t in tools if t.name == "k_scale")
    assert set(scale.parameters["properties"]) == {"name", "replicas"}


async def test_a_model_failure_fails_the_run_visibly(harnesses: HarnessFactory) -> None:
    h = await harnesses.open('scripts: [{match: "^only this$", turns: [{text: x}]}]')
    run = await h.engine.submit_message(h.conversation.id, h.operator, "something else")
    await h.engine.wait_run(run.id)
    finished = await h.store.get_run(run.id)
    assert finished.status == "failed"
    assert "no script matches" in (finished.reason or "")
    errors = [e.data for e in await h.events(run.id) if e.type == "run.error"]
    assert [e["code"] for e in errors] == ["run_failed"]
    assert (await h.event_types(run.id))[-1] == "run.finished"


async def test_viewers_may_not_start_runs(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    with pytest.raises(Forbidden):
        await h.engine.submit_call(h.conversation.id, h.viewer, "k_get", {"name": "api"})
    assert await h.store.list_runs(h.conversation.id) == []


class _CountingSaver(ThreadedSqliteSaver):
    """The engine's saver, counting the checkpoints read back."""

    reads = 0

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        self.reads += 1
        return await super().aget_tuple(config)


async def test_a_run_that_ends_reads_no_checkpoint_back(harnesses: HarnessFactory) -> None:
    h = await harnesses.open(None)
    saver = _CountingSaver(harnesses.data_dir / "counted.sqlite")
    await saver.asetup()
    engine = Engine(h.engine.deps, saver)
    try:
        run = await engine.submit_call(h.conversation.id, h.operator, "k_get", {"name": "api"})
        await engine.wait_run(run.id)
        assert (await h.store.get_run(run.id)).status == "completed"
        # Only the start of the run reads (LangGraph looks for an earlier checkpoint).
        assert saver.reads == 1
        paused = await engine.submit_call(
            h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 3}
        )
        await engine.wait_run(paused.id)
        # A run paused at the gate is looked at (has a decision landed meanwhile?).
        assert saver.reads == 3
        assert (await h.store.get_run(paused.id)).status == "awaiting_approval"
    finally:
        await engine.aclose()
        await saver.aclose()
