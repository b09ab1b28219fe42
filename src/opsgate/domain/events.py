"""Typed events the engine emits; the API streams them, the store records them, the UIs show them.

Every event carries `run_id`, a `type` discriminator and a UTC timestamp; `call_id` where it
applies. The stream id (for SSE `Last-Event-ID`) is assigned by the store when it persists one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from opsgate.domain.calls import CallStatus, Classification
from opsgate.domain.outcomes import RunSummary
from opsgate.domain.runs import DecisionKind, RunStatus
from opsgate.domain.usage import TurnUsage


def _now() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    at: datetime = Field(default_factory=_now)


class RunStarted(_Event):
    type: Literal["run.started"] = "run.started"
    conversation_id: str
    requested_by: str
    text: str | None = None


class Token(_Event):
    """A piece of the model's text as it streams in."""

    type: Literal["token"] = "token"
    text: str


class ModelTurn(_Event, TurnUsage):
    """A model turn ended: its tokens, cost (None: price unknown) and timing."""

    type: Literal["model.turn"] = "model.turn"


class PlannedCall(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_id: str
    tool: str
    args: dict[str, Any]
    context: str | None
    classification: Classification
    destructive: bool = False
    error: str | None = None
    """Set when the call failed validation and went back to the model instead."""


class Plan(_Event):
    type: Literal["plan"] = "plan"
    text: str | None = None
    calls: list[PlannedCall]


class ToolStarted(_Event):
    type: Literal["tool.started"] = "tool.started"
    call_id: str
    tool: str
    args: dict[str, Any]
    classification: Classification
    command: str | None = None
    """The command as it runs, for display (secrets masked); set for approved changes."""


class ToolProgress(_Event):
    type: Literal["tool.progress"] = "tool.progress"
    call_id: str
    text: str


STREAMED_DATA_BYTES = 32 * 1024
"""The largest structured result a `tool.finished` event carries."""


class ToolFinished(_Event):
    type: Literal["tool.finished"] = "tool.finished"
    call_id: str
    tool: str
    status: CallStatus
    output: str
    """Redacted, capped output."""
    truncated: bool = False
    exit_code: int | None = None
    duration_ms: int = 0
    data: Any = None
    """The tool's structured result (e.g. a diagnosis), redacted, when it is at most
    `STREAMED_DATA_BYTES` of JSON; otherwise None (the output text is always there)."""


PreviewOutcome = Literal["changes", "no_change", "failed", "unavailable"]
"""What the dry run before approval found; `unavailable` when the tool has none or it timed out."""


class ApprovalCall(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_id: str
    tool: str
    args: dict[str, Any]
    context: str | None
    namespace: str | None = None
    destructive: bool
    call_hash: str
    preview: str | None = None
    preview_state: PreviewOutcome = "unavailable"
    command: str | None = None
    """The exact command the approved call will run, for display (secrets masked)."""
    cluster: str | None = None
    """The cluster the context resolved to (its server URL), bound into the call hash."""


class ApprovalRequested(_Event):
    type: Literal["approval.requested"] = "approval.requested"
    approval_id: str
    proposed_by: str
    expires_at: datetime
    calls: list[ApprovalCall]


class ApprovalDecided(_Event):
    type: Literal["approval.decided"] = "approval.decided"
    approval_id: str
    call_id: str
    decision: DecisionKind
    decided_by: str
    reason: str | None = None
    settled: bool = True
    """False when the approval policy still needs more approvals for this call."""
    progress: list[str] = []
    """The policy's progress lines after this decision (empty under the built-in gate)."""


class ApprovalExpired(_Event):
    type: Literal["approval.expired"] = "approval.expired"
    approval_id: str
    call_ids: list[str]


Verdict = Literal["verified", "failed", "not_verified"]


class VerifyOutcome(_Event):
    """What checking a change found. `not_verified`: nothing proved the intent (no check is
    declared, the check can only read the object back, or it was stopped)."""

    type: Literal["verify"] = "verify"
    call_id: str
    tool: str
    verdict: Verdict
    summary: str
    """One line with the concrete reason (the failing pod, its state, the latest warning)."""
    proves: str | None = None
    """What the tool's check proves, as the tool declares it."""
    details: list[str] = []
    next_step: str | None = None
    rollback: dict[str, Any] | None = None
    """`{tool, args}` of a call that would undo the change (proposed as a new gated call)."""
    output: str = ""


class Answer(_Event):
    type: Literal["answer"] = "answer"
    text: str


class RunPaused(_Event):
    """The run waits at the approval gate."""

    type: Literal["run.paused"] = "run.paused"
    approval_id: str


class RunResumed(_Event):
    """The approval request was decided; the run goes on."""

    type: Literal["run.resumed"] = "run.resumed"
    approval_id: str


class RunFinished(_Event):
    """The run ended; `status` is derived from its calls (`domain.outcomes`), `summary` says why."""

    type: Literal["run.finished"] = "run.finished"
    status: RunStatus
    reason: str | None = None
    summary: RunSummary | None = None
    stopped_by: str | None = None


class ErrorEvent(_Event):
    """Something went wrong in the run (named so it cannot collide with `EventSource`'s own
    `error` event in browsers)."""

    type: Literal["run.error"] = "run.error"
    code: str
    message: str


EngineEvent = Annotated[
    RunStarted
    | Token
    | ModelTurn
    | Plan
    | ToolStarted
    | ToolProgress
    | ToolFinished
    | ApprovalRequested
    | ApprovalDecided
    | ApprovalExpired
    | VerifyOutcome
    | Answer
    | RunPaused
    | RunResumed
    | RunFinished
    | ErrorEvent,
    Field(discriminator="type"),
]

ENGINE_EVENT: TypeAdapter[EngineEvent] = TypeAdapter(EngineEvent)
