"""The checkpointed state of a run and the names of the graph's nodes.

Shared by `steps` (which reads and updates it), `execution` and `graph` (which routes on
`next`). Only plain JSON values live here so any checkpoint saver can store it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

from opsgate.domain.runs import RunKind

Route = Literal[
    "plan",
    "classify",
    "execute_reads",
    "request_approval",
    "gate",
    "execute",
    "verify",
    "answer",
    "finish",
]


class RunState(TypedDict, total=False):
    """The checkpointed state of one run; plain JSON values only."""

    run_id: str
    conversation_id: str
    kind: RunKind
    user_id: str
    user_name: str
    contexts: list[str]
    namespace: str | None
    """The conversation's default namespace, told to the model."""
    messages: list[dict[str, Any]]
    """The model's view of the run (`ModelMessage` dumps), system prompt excluded."""
    pending: list[dict[str, Any]]
    """The calls of the current step (`ClassifiedCall.as_state()` plus `model_call_id`)."""
    plan_text: str | None
    approval_id: str | None
    executed: list[dict[str, Any]]
    """Mutations that ran in the current step: call id, tool, args, ok."""
    model_turns: int
    tool_calls: int
    reported_turns: int
    """How much of `model_turns` / `tool_calls` the run's record already holds."""
    reported_calls: int
    summary: list[str]
    """Plain lines for the direct path's final answer."""
    answer: str | None
    outcome: dict[str, Any] | None
    """`{status, reason}` once the run must end early (stopped or failed)."""
    next: Route


def end(status: Literal["stopped", "failed"], reason: str) -> RunState:
    """The update that ends a run early (stop requested, a guard tripped, the model failed)."""
    return {"outcome": {"status": status, "reason": reason}, "next": "finish"}


def _merge(current: RunState, update: RunState) -> RunState:
    return {**current, **update}


class GraphState(TypedDict):
    """What the graph checkpoints: the run's state as one channel, each node's update merged in.

    One channel instead of one per key: LangGraph's work per step (applying writes, building
    the checkpoint, emitting values) grows with the number of channels, and the run's keys
    always travel together.
    """

    run: Annotated[RunState, _merge]
