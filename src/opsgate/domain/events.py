"""Typed events the engine emits; the API streams them, the store records them, the UIs show them.

Every event carries `run_id`, a `type` discriminator and a UTC timestamp; `call_id` where it
applies. The stream id (for SSE `Last-Event-ID`) is assigned by the store when it persists one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from opsgate.domain.calls import CallStatus, Classification
from opsgate.domain.runs import RunStatus


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


class ToolProgress(_Event):
    type: Literal["tool.progress"] = "tool.progress"
    call_id: str
    text: str


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
    decision: Literal["approve", "reject"]
    decided_by: str
    reason: str | None = None


class ApprovalExpired(_Event):
    type: Literal["approval.expired"] = "approval.expired"
    approval_id: str
    call_ids: list[str]


class VerifyOutcome(_Event):
    type: Literal["verify"] = "verify"
    call_id: str
    tool: str
    ok: bool
    summary: str
    output: str = ""


class Answer(_Event):
    type: Literal["answer"] = "answer"
    text: str


class RunFinished(_Event):
    type: Literal["run.finished"] = "run.finished"
    status: RunStatus
    reason: str | None = None


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    code: str
    message: str


EngineEvent = Annotated[
    RunStarted
    | Token
    | Plan
    | ToolStarted
    | ToolProgress
    | ToolFinished
    | ApprovalRequested
    | ApprovalDecided
    | ApprovalExpired
    | VerifyOutcome
    | Answer
    | RunFinished
    | ErrorEvent,
    Field(discriminator="type"),
]

ENGINE_EVENT: TypeAdapter[EngineEvent] = TypeAdapter(EngineEvent)
