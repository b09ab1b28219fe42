"""Replay: rebuild a conversation's timeline from its audit events alone.

The API (`GET /conversations/{id}/replay`) and the UI call `replay(store, conversation_id)`.
Nothing but the audit log is read, so the timeline shows what was recorded, even if other
tables were changed or a conversation was deleted.

Payload keys each kind carries (the engine emits them; every event also has `conversation_id`,
`run_id` and, for per-call events, `call_id` in its own columns):

- `request`: `text` (what the person asked).
- `plan`: `text` (the model's words), `calls`: list of `{call_id, tool, args, context,
  classification, destructive, error}` (`error` set: the call was invalid and never ran).
- `approval.requested`: `approval_id`, `expires_at` (ISO 8601), `calls`: list of `{call_id,
  tool, args, context, call_hash, destructive}`.
- `approval.granted` / `approval.rejected`: `approval_id`, `reason` (may be null); the
  deciding person is the event's actor, the call is the event's `call_id` (or payload
  `call_id`).
- `approval.expired`: `approval_id`, optionally `call_ids` and `reason`; per call via
  `call_id`, else every call of the request that had no decision yet. On a call that was
  approved but not run in time, the approver's decision stays and the call becomes `expired`.
- `tool.started`: `tool`, `args`, `context`, `classification`.
- `tool.finished`: `tool`, `status`, `exit_code`, `output` (redacted, capped),
  `output_sha256`, `output_size`, `truncated`, `duration_ms`.
- `tool.outcome_unknown`: `tool`, `reason` (the process died while the call ran).
- `verify`: `tool`, `verdict` (`verified`, `failed`, `not_verified`), `summary`, `details`,
  `rollback` (`{tool, args}` or null). Events written before verdicts existed carry `ok`.
- `run.finished`: `status` (derived, see `domain.outcomes`), `reason`, `summary` (the counts
  behind the status), `stopped_by`, and `answer` (what the person was told) when it answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from opsgate.domain.audit import AuditEvent
from opsgate.domain.events import Verdict
from opsgate.store.protocol import Store
from opsgate.store.records import AuditFilter


class _View(BaseModel):
    model_config = ConfigDict(frozen=False)


class Decision(_View):
    call_id: str
    decision: str
    """`approve`, `reject` or `expired`."""
    by: str
    by_id: str | None
    at: datetime
    reason: str | None = None


class Approval(_View):
    approval_id: str
    run_id: str | None
    requested_at: datetime
    requested_by: str
    expires_at: str | None
    call_ids: list[str]
    decisions: list[Decision] = []


class Verification(_View):
    verdict: Verdict
    summary: str | None
    at: datetime


_VERDICT_STATUS: dict[Verdict, str] = {
    "verified": "verified",
    "failed": "verification_failed",
    "not_verified": "not_verified",
}


def _verdict(payload: dict[str, Any]) -> Verdict:
    """The verdict of a `verify` event; events of wave-1 engines carry only `ok`, which never
    said what the check proved, so a passing one reads as not verified."""
    verdict = payload.get("verdict")
    if verdict in ("verified", "failed", "not_verified"):
        return verdict  # type: ignore[no-any-return]
    return "not_verified" if payload.get("ok") else "failed"


class ToolCall(_View):
    call_id: str
    run_id: str | None
    tool: str
    args: dict[str, Any]
    context: str | None = None
    classification: str | None = None
    destructive: bool = False
    call_hash: str | None = None
    status: str = "planned"
    """planned, invalid, awaiting_approval, approved, rejected, expired, running, or final."""
    error: str | None = None
    """Why the call was invalid (it never ran)."""
    approval_id: str | None = None
    decision: Decision | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    output: str | None = None
    output_sha256: str | None = None
    output_size: int | None = None
    truncated: bool = False
    duration_ms: int | None = None
    verification: Verification | None = None


class Plan(_View):
    seq: int
    at: datetime
    text: str | None
    call_ids: list[str]


class RunView(_View):
    run_id: str
    requested_by: str | None = None
    requested_at: datetime | None = None
    request: str | None = None
    plans: list[Plan] = []
    status: str = "running"
    reason: str | None = None
    answer: str | None = None
    finished_at: datetime | None = None


class Entry(_View):
    """One line of the timeline, in seq order."""

    seq: int
    at: datetime
    kind: str
    actor_name: str
    run_id: str | None
    call_id: str | None
    summary: str


class Timeline(_View):
    conversation_id: str
    entries: list[Entry] = []
    runs: list[RunView] = []
    calls: list[ToolCall] = []
    approvals: list[Approval] = []


class _Builder:
    def __init__(self, conversation_id: str) -> None:
        self.timeline = Timeline(conversation_id=conversation_id)
        self.runs: dict[str, RunView] = {}
        self.calls: dict[str, ToolCall] = {}
        self.approvals: dict[str, Approval] = {}

    def run(self, run_id: str | None) -> RunView | None:
        if run_id is None:
            return None
        if run_id not in self.runs:
            self.runs[run_id] = RunView(run_id=run_id)
            self.timeline.runs.append(self.runs[run_id])
        return self.runs[run_id]

    def call(self, call_id: str, run_id: str | None, tool: str | None) -> ToolCall:
        if call_id not in self.calls:
            self.calls[call_id] = ToolCall(call_id=call_id, run_id=run_id, tool=tool or "", args={})
            self.timeline.calls.append(self.calls[call_id])
        return self.calls[call_id]

    def add(self, event: AuditEvent) -> None:
        handler = getattr(self, "on_" + event.kind.replace(".", "_"), None)
        summary = handler(event, event.payload) if handler is not None else event.kind
        self.timeline.entries.append(
            Entry(
                seq=event.seq,
                at=event.at,
                kind=event.kind,
                actor_name=event.actor_name,
                run_id=event.run_id,
                call_id=event.call_id,
                summary=summary,
            )
        )

    def on_request(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        run = self.run(event.run_id)
        if run is not None:
            run.requested_by, run.requested_at = event.actor_name, event.at
            run.request = payload.get("text")
        return f"{event.actor_name} asked: {payload.get('text', '')}"

    def on_plan(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        ids = []
        for planned in payload.get("calls", []):
            call = self.call(planned["call_id"], event.run_id, planned.get("tool"))
            call.args = planned.get("args", {})
            call.context = planned.get("context")
            call.classification = planned.get("classification")
            call.destructive = bool(planned.get("destructive", False))
            if planned.get("error"):
                call.status, call.error = "invalid", str(planned["error"])
            ids.append(call.call_id)
        run = self.run(event.run_id)
        if run is not None:
            run.plans.append(
                Plan(seq=event.seq, at=event.at, text=payload.get("text"), call_ids=ids)
            )
        return f"planned {len(ids)} call(s)"

    def on_approval_requested(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        approval_id = str(payload.get("approval_id"))
        ids = []
        for requested in payload.get("calls", []):
            call = self.call(requested["call_id"], event.run_id, requested.get("tool"))
            call.args = requested.get("args", call.args)
            call.context = requested.get("context", call.context)
            call.call_hash = requested.get("call_hash")
            call.destructive = bool(requested.get("destructive", call.destructive))
            call.status, call.approval_id = "awaiting_approval", approval_id
            ids.append(call.call_id)
        approval = Approval(
            approval_id=approval_id,
            run_id=event.run_id,
            requested_at=event.at,
            requested_by=event.actor_name,
            expires_at=payload.get("expires_at"),
            call_ids=ids,
        )
        self.approvals[approval_id] = approval
        self.timeline.approvals.append(approval)
        return f"approval {approval_id} requested for {len(ids)} call(s)"

    def _decide(self, event: AuditEvent, payload: dict[str, Any], decision: str) -> str:
        approval_id = str(payload.get("approval_id"))
        approval = self.approvals.get(approval_id)
        call_id = event.call_id or payload.get("call_id")
        if call_id:
            call_ids = [call_id]
        elif isinstance(payload.get("call_ids"), list):
            call_ids = [str(one) for one in payload["call_ids"]]
        else:
            # A request-wide event touches only the calls still waiting for a decision.
            waiting = approval.call_ids if approval else []
            call_ids = [one for one in waiting if self.calls[one].decision is None]
        for one in call_ids:
            call = self.call(one, event.run_id, None)
            if decision == "expired" and call.decision is not None:
                # Approved, but the approval ran out before the change ran: who approved it
                # stays on record; the timeline entry says it lapsed.
                call.status = "expired"
                continue
            record = Decision(
                call_id=one,
                decision=decision,
                by=event.actor_name,
                by_id=event.actor_id,
                at=event.at,
                reason=payload.get("reason"),
            )
            if approval is not None:
                approval.decisions.append(record)
            call.decision = record
            call.status = {"approve": "approved", "reject": "rejected"}.get(decision, decision)
        reason = f" ({payload['reason']})" if payload.get("reason") else ""
        return f"{event.actor_name}: {decision} {', '.join(call_ids)}{reason}"

    def on_approval_granted(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        return self._decide(event, payload, "approve")

    def on_approval_rejected(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        return self._decide(event, payload, "reject")

    def on_approval_expired(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        return self._decide(event, payload, "expired")

    def on_tool_started(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        call = self.call(event.call_id or "", event.run_id, payload.get("tool"))
        call.args = payload.get("args", call.args)
        call.context = payload.get("context", call.context)
        call.classification = payload.get("classification", call.classification)
        call.status, call.started_at = "running", event.at
        return f"{call.tool} started"

    def on_tool_finished(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        call = self.call(event.call_id or "", event.run_id, payload.get("tool"))
        call.status = str(payload.get("status", "succeeded"))
        call.finished_at = event.at
        call.exit_code = payload.get("exit_code")
        call.output = payload.get("output")
        call.output_sha256 = payload.get("output_sha256")
        call.output_size = payload.get("output_size")
        call.truncated = bool(payload.get("truncated", False))
        call.duration_ms = payload.get("duration_ms")
        return f"{call.tool} {call.status} (exit {call.exit_code})"

    def on_tool_outcome_unknown(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        call = self.call(event.call_id or "", event.run_id, payload.get("tool"))
        call.status, call.finished_at = "outcome_unknown", event.at
        return f"{call.tool}: outcome unknown"

    def on_verify(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        verdict = _verdict(payload)
        summary = payload.get("summary")
        if event.call_id:
            call = self.call(event.call_id, event.run_id, payload.get("tool"))
            call.verification = Verification(verdict=verdict, summary=summary, at=event.at)
            call.status = _VERDICT_STATUS[verdict]
        return f"{verdict.replace('_', ' ')}: {summary or ''}".rstrip(": ")

    def on_run_finished(self, event: AuditEvent, payload: dict[str, Any]) -> str:
        run = self.run(event.run_id)
        status = str(payload.get("status", "completed"))
        if run is not None:
            run.status, run.reason, run.finished_at = status, payload.get("reason"), event.at
            run.answer = payload.get("answer")
        return f"run {status}"


async def replay(store: Store, conversation_id: str) -> Timeline:
    """The conversation's timeline, rebuilt from its audit events in seq order."""
    builder = _Builder(conversation_id)
    async for event in store.iter_audit(AuditFilter(conversation_id=conversation_id)):
        builder.add(event)
    return builder.timeline
