"""Replay: rebuild a conversation's timeline from its audit events alone.

The API (`GET /conversations/{id}/replay`) and the UI call `replay(store, conversation_id)`.
Nothing but the audit log is read, so the timeline shows what was recorded, even if other
tables were changed or a conversation was deleted.

Each event's payload is read through the model the engine wrote it with
(`domain.audit_payloads.AUDIT_PAYLOADS`); one that does not fit its model (an edited record)
shows as an unreadable entry and changes nothing else of the timeline. Every event also has
`conversation_id`, `run_id` and, for per-call events, `call_id` in its own columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from opsgate.domain import audit_payloads as ap
from opsgate.domain.audit import AuditEvent
from opsgate.domain.events import Verdict
from opsgate.errors import truncate
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
        model = ap.AUDIT_PAYLOADS.get(event.kind)
        handler = getattr(self, "on_" + event.kind.replace(".", "_"), None)
        summary: str = event.kind
        if model is not None and handler is not None:
            try:
                payload = model.model_validate(event.payload)
            except ValidationError as e:
                summary = f"unreadable {event.kind} record: {truncate(str(e), 200)}"
            else:
                summary = handler(event, payload)
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

    def on_request(self, event: AuditEvent, payload: ap.Request) -> str:
        run = self.run(event.run_id)
        if run is not None:
            run.requested_by, run.requested_at = event.actor_name, event.at
            run.request = payload.text
        return f"{event.actor_name} asked: {payload.text}"

    def on_plan(self, event: AuditEvent, payload: ap.Plan) -> str:
        ids = []
        for planned in payload.calls:
            call = self.call(planned.call_id, event.run_id, planned.tool)
            call.args = planned.args
            call.context = planned.context
            call.classification = planned.classification
            call.destructive = planned.destructive
            if planned.error:
                call.status, call.error = "invalid", planned.error
            ids.append(call.call_id)
        run = self.run(event.run_id)
        if run is not None:
            run.plans.append(Plan(seq=event.seq, at=event.at, text=payload.text, call_ids=ids))
        return f"planned {len(ids)} call(s)"

    def on_model_turn(self, event: AuditEvent, payload: ap.ModelTurn) -> str:
        cost = "cost unknown" if payload.cost_usd is None else f"${payload.cost_usd:.5f}"
        return (
            f"model {payload.model}: {payload.input_tokens} tokens in, "
            f"{payload.output_tokens} out, {cost}, {payload.duration_ms} ms"
        )

    def on_approval_requested(self, event: AuditEvent, payload: ap.ApprovalRequested) -> str:
        approval_id = payload.approval_id
        ids = []
        for requested in payload.calls:
            call = self.call(requested.call_id, event.run_id, requested.tool)
            given = requested.model_fields_set
            call.args = requested.args
            call.context = requested.context if "context" in given else call.context
            call.call_hash = requested.call_hash
            call.destructive = requested.destructive if "destructive" in given else call.destructive
            call.status, call.approval_id = "awaiting_approval", approval_id
            ids.append(call.call_id)
        approval = Approval(
            approval_id=approval_id,
            run_id=event.run_id,
            requested_at=event.at,
            requested_by=event.actor_name,
            expires_at=payload.expires_at.isoformat() if payload.expires_at else None,
            call_ids=ids,
        )
        self.approvals[approval_id] = approval
        self.timeline.approvals.append(approval)
        return f"approval {approval_id} requested for {len(ids)} call(s)"

    def _decide(
        self,
        event: AuditEvent,
        approval_id: str,
        call_ids: list[str] | None,
        reason: str | None,
        decision: str,
    ) -> str:
        approval = self.approvals.get(approval_id)
        if call_ids is None:
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
                reason=reason,
            )
            if approval is not None:
                approval.decisions.append(record)
            call.decision = record
            call.status = {"approve": "approved", "reject": "rejected"}.get(decision, decision)
        because = f" ({reason})" if reason else ""
        return f"{event.actor_name}: {decision} {', '.join(call_ids)}{because}"

    def _decided(self, event: AuditEvent, payload: ap.ApprovalGranted | ap.ApprovalRejected) -> str:
        call_id = event.call_id or payload.call_id
        decision = "approve" if isinstance(payload, ap.ApprovalGranted) else "reject"
        ids = [call_id] if call_id else None
        return self._decide(event, payload.approval_id, ids, payload.reason, decision)

    def on_approval_granted(self, event: AuditEvent, payload: ap.ApprovalGranted) -> str:
        return self._decided(event, payload)

    def on_approval_rejected(self, event: AuditEvent, payload: ap.ApprovalRejected) -> str:
        return self._decided(event, payload)

    def on_approval_expired(self, event: AuditEvent, payload: ap.ApprovalExpired) -> str:
        ids = [event.call_id] if event.call_id else payload.call_ids
        return self._decide(event, payload.approval_id, ids, payload.reason, "expired")

    def on_tool_started(self, event: AuditEvent, payload: ap.ToolStarted) -> str:
        call = self.call(event.call_id or "", event.run_id, payload.tool)
        given = payload.model_fields_set
        call.args = payload.args if "args" in given else call.args
        call.context = payload.context if "context" in given else call.context
        if "classification" in given:
            call.classification = payload.classification
        call.status, call.started_at = "running", event.at
        return f"{call.tool} started"

    def on_tool_finished(self, event: AuditEvent, payload: ap.ToolFinished) -> str:
        call = self.call(event.call_id or "", event.run_id, payload.tool)
        call.status = payload.status
        call.finished_at = event.at
        call.exit_code = payload.exit_code
        call.output = payload.output
        call.output_sha256 = payload.output_sha256
        call.output_size = payload.output_size
        call.truncated = payload.truncated
        call.duration_ms = payload.duration_ms
        return f"{call.tool} {call.status} (exit {call.exit_code})"

    def on_tool_outcome_unknown(self, event: AuditEvent, payload: ap.ToolOutcomeUnknown) -> str:
        call = self.call(event.call_id or "", event.run_id, payload.tool)
        call.status, call.finished_at = "outcome_unknown", event.at
        return f"{call.tool}: outcome unknown"

    def on_verify(self, event: AuditEvent, payload: ap.VerifyOutcome) -> str:
        verdict, summary = payload.verdict, payload.summary
        if event.call_id:
            call = self.call(event.call_id, event.run_id, payload.tool)
            call.verification = Verification(verdict=verdict, summary=summary, at=event.at)
            call.status = _VERDICT_STATUS[verdict]
        return f"{verdict.replace('_', ' ')}: {summary or ''}".rstrip(": ")

    def on_run_finished(self, event: AuditEvent, payload: ap.RunFinished) -> str:
        run = self.run(event.run_id)
        if run is not None:
            run.status, run.reason, run.finished_at = payload.status, payload.reason, event.at
            run.answer = payload.answer
        return f"run {payload.status}"


async def replay(store: Store, conversation_id: str) -> Timeline:
    """The conversation's timeline, rebuilt from its audit events in seq order."""
    builder = _Builder(conversation_id)
    async for event in store.iter_audit(AuditFilter(conversation_id=conversation_id)):
        builder.add(event)
    return builder.timeline
