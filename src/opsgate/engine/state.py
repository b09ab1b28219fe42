"""The checkpointed state of a run and the names of the graph's nodes.

Shared by `steps` (which reads and updates it), `execution` and `graph` (which routes on
`next`). Only plain JSON values live here so any checkpoint saver can store it: the calls of a
step are typed (`ProposedCall`, `CheckpointedCall`) while the engine works on them and stored
as their `state()` dumps, in the shape checkpoints have always held them.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from opsgate.domain.calls import Classification
from opsgate.domain.runs import RunKind
from opsgate.errors import DecisionRefused, truncate

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
    read_only: bool
    """Only read-only tools are offered to the model (a run an alert opened, with no person in
    it); a change it proposes anyway waits at the gate like any other. Absent: False."""
    messages: list[dict[str, Any]]
    """The model's view of the run (`ModelMessage` dumps), system prompt excluded."""
    pending: list[dict[str, Any]]
    """The calls of the current step: `ProposedCall`s until classified, then
    `CheckpointedCall`s (as their `state()` dumps)."""
    plan_text: str | None
    approval_id: str | None
    executed: list[dict[str, Any]]
    """Mutations that ran in the current step (`CheckpointedCall`s with `ok` set)."""
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


class _Call(BaseModel):
    """A call as the run's state holds it; `state()` is the JSON the checkpoint stores.

    Fields in `OMITTED_WHEN_NONE` are left out while unset, as they always were, so a
    checkpoint written by this engine reads the same to one of an earlier version.
    """

    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset()

    call_id: str
    tool: str
    args: dict[str, Any]
    """As shown and stored everywhere: secret values replaced by markers (`sealing`)."""
    sealed: str | None = None
    """The exact arguments, encrypted; None only in checkpoints written before sealing."""
    model_call_id: str | None = None
    """The model's id of the call (None for a direct run's)."""

    def state(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        return {k: v for k, v in data.items() if v is not None or k not in self.OMITTED_WHEN_NONE}


class ProposedCall(_Call):
    """A call as planned, before policy has looked at it."""

    model_config = ConfigDict(frozen=True)
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"model_call_id", "args_error"})

    args_error: str | None = None
    """Why the model's arguments were not a JSON object (the call is then invalid)."""


class ClusterBinding(BaseModel):
    """The cluster a change's context resolved to when proposed, bound into its call hash."""

    model_config = ConfigDict(frozen=True)

    server: str
    fingerprint: str


class CheckpointedCall(_Call):
    """A classified call of the current step: what would run, how it must be treated, and
    (once known) the cluster it is bound to, the command it runs and whether it ran well."""

    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"cluster", "command", "ok"})

    context: str | None
    classification: Classification
    destructive: bool
    call_hash: str
    error: str | None = None
    """Why the call is invalid; such a call never runs and its error goes back to the model."""
    cluster: ClusterBinding | None = None
    command: str | None = None
    """The exact command the approved call runs, for display (set when its approval opens)."""
    ok: bool | None = None
    """Whether the change ran well (set once it ran, for `verify`)."""


_Loaded = TypeVar("_Loaded", bound=_Call)


def load_call(model: type[_Loaded], stored: dict[str, Any]) -> _Loaded:
    """A call of the checkpointed state, typed.

    Raises:
        DecisionRefused: the state holds a call that does not read as one (written elsewhere,
            or edited): nothing may run from it.
    """
    try:
        return model.model_validate(stored)
    except ValidationError as e:
        raise DecisionRefused(
            f"the run's state holds a call that does not read ({truncate(str(e), 300)})"
        ) from e


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
