"""The calls a run's checkpoint holds are typed, and checkpoints in today's shape still load.

`ProposedCall` and `CheckpointedCall` (`engine.state`) are what the engine works on; the
checkpoint stores their `state()` dumps. A checkpoint written before they existed must load,
dump back to itself and run: the rows below are in the shape the engine wrote then.
"""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.types import Command

from opsgate.engine.sealing import Sealer
from opsgate.engine.state import CheckpointedCall, ProposedCall, load_call
from opsgate.errors import DecisionRefused
from tests.fixtures.calls import stored_call
from tests.fixtures.engine import SECRET_KEY, HarnessFactory

SEALER = Sealer.from_key(SECRET_KEY)
ARGS = {"name": "api", "replicas": 4, "context": "sandbox"}

AT_THE_GATE: dict[str, Any] = {
    "call_id": "c1",
    "tool": "k_scale",
    "args": ARGS,
    "context": "sandbox",
    "classification": "mutation",
    "destructive": False,
    "call_hash": "ab" * 32,
    "error": None,
    "cluster": {"server": "https://fake.test", "fingerprint": "cd" * 32},
    **SEALER.hold("k_scale", ARGS),
    "model_call_id": "m1",
    "command": "kubectl scale deployment/api --replicas=4",
}
"""A classified change as `request_approval` left it in the checkpoint (key order and all)."""

INVALID_READ: dict[str, Any] = {
    "call_id": "c2",
    "tool": "k_get",
    "args": {"name": "x"},
    "context": None,
    "classification": "mutation",
    "destructive": False,
    "call_hash": "ef" * 32,
    "error": "unknown tool",
    "sealed": None,
    "model_call_id": None,
}
"""An invalid call, classified without a cluster or command (no `cluster`/`command` keys)."""


@pytest.mark.parametrize("stored", [AT_THE_GATE, INVALID_READ])
def test_a_classified_call_in_todays_shape_loads_and_dumps_back_to_itself(
    stored: dict[str, Any],
) -> None:
    call = load_call(CheckpointedCall, stored)
    assert call.state() == stored
    assert SEALER.open(call) == stored["args"]


def test_an_executed_call_keeps_its_ok() -> None:
    executed = {**AT_THE_GATE, "ok": True}
    call = load_call(CheckpointedCall, executed)
    assert (call.ok, call.cluster and call.cluster.server) == (True, "https://fake.test")
    assert call.state() == executed


def test_a_call_checkpointed_before_arguments_were_sealed_runs_its_args() -> None:
    legacy = {k: v for k, v in AT_THE_GATE.items() if k not in ("sealed", "cluster", "command")}
    call = load_call(CheckpointedCall, legacy)
    assert (call.sealed, call.cluster, call.command) == (None, None, None)
    assert SEALER.open(call) == ARGS


def test_proposed_calls_in_todays_shapes_load() -> None:
    direct = {"call_id": "c3", "tool": "k_get", **SEALER.hold("k_get", {"name": "api"})}
    assert load_call(ProposedCall, direct).state() == direct
    planned = {
        "call_id": "c4",
        "model_call_id": "m4",
        "tool": "k_get",
        **SEALER.hold("k_get", {"name": "api"}),
        "args_error": None,
    }
    call = load_call(ProposedCall, planned)
    assert (call.model_call_id, call.args_error) == ("m4", None)
    assert SEALER.open(call) == {"name": "api"}


@pytest.mark.parametrize(
    "edit",
    [{"classification": "maybe"}, {"sealed": 7}, {"call_hash": None}, {"tool": None}],
)
def test_an_edited_call_in_the_state_is_refused(edit: dict[str, Any]) -> None:
    with pytest.raises(DecisionRefused, match="does not read"):
        load_call(CheckpointedCall, {**AT_THE_GATE, **edit})


async def test_a_run_resumes_from_a_checkpoint_in_todays_shape(
    harnesses: HarnessFactory,
) -> None:
    h = await harnesses.open(None)
    run = await h.engine.submit_call(
        h.conversation.id, h.operator, "k_scale", {"name": "api", "replicas": 4}
    )
    await h.engine.wait_run(run.id)
    [call] = (await h.engine.run_state(run.id))["pending"]
    assert set(call) == set(AT_THE_GATE)
    # Written again in the key order the engine used before the calls were typed.
    today = {key: call[key] for key in AT_THE_GATE}
    config = {"configurable": {"thread_id": run.id}}
    rewritten = Command(update={"run": {"pending": [today]}}, goto="gate")
    await h.engine.graph.aupdate_state(config, rewritten, as_node="request_approval")  # type: ignore[arg-type]

    approval_id = await h.pending_approval_id(run.id)
    await h.engine.decide(approval_id, call["call_id"], h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)

    assert h.cluster.mutations() == [("scale", "api", "4")]
    assert (await stored_call(h.store, call["call_id"])).status == "verified"
