"""One run's story as timed steps, built from its audit events alone.

request → model turns (with their rationale) → each call (read or change) → its approval (who,
when, why, which policy rules, the preview and command they saw, checked against the hash in
their decision) → execution (command, exit code, duration, output size and hash) →
verification (verdict and evidence) → answer. `GET /runs/{id}/timeline`
(`api.routes.audit`) builds it for the run view (`views/timeline.js`); since only audit
events are read, an exported file gives the same story.

Times are the events' `at`: a model turn lasts from the event before its plan to the plan, an
approval from its request to the last decision on the call, an execution as its
`tool.finished` says (`duration_ms`), a verification from the result to the verdict. Payloads
are read through `domain.audit_payloads`; an event that no longer fits its model (an edited
record) is left out of the steps, and `audit verify` is what finds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from opsgate.domain import audit_payloads as ap
from opsgate.domain.audit import AuditEvent
from opsgate.domain.targets import call_object

StepKind = Literal[
    "request", "model_turn", "call", "approval", "execution", "verification", "answer"
]


class Step(BaseModel):
    """One bar of the timeline; `approval`, `execution` and `verification` belong to a call
    (`parent` is its step's id)."""

    id: str
    kind: StepKind
    parent: str | None = None
    title: str
    started_at: datetime
    ended_at: datetime
    duration_ms: int
    outcome: str | None = None
    actor: str | None = None
    """Who asked, or who decided (comma-joined when a quorum did); for an execution under
    impersonation, whom the cluster saw."""
    text: str | None = None
    """The request, a model turn's rationale, a decision's reason, a check's summary, the
    answer."""
    call_id: str | None = None
    tool: str | None = None
    object: str | None = None
    classification: str | None = None
    args: dict[str, Any] | None = None
    command: str | None = None
    exit_code: int | None = None
    output_size: int | None = None
    output_sha256: str | None = None
    truncated: bool = False
    preview: str | None = None
    preview_state: str | None = None
    preview_sha256: str | None = None
    preview_matches: bool | None = None
    """The stored preview hashes to what every decision on the call names (None: no
    preview, or decisions from before decisions named it)."""
    rule_ids: list[str] = []
    evidence: list[str] = []
    audit_seqs: list[int] = []
    """The audit events this step was read from."""


class RunTimeline(BaseModel):
    run_id: str
    conversation_id: str | None
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int
    status: str | None
    """The run's end (`run.finished`), None while it runs."""
    steps: list[Step]


def _ms(start: datetime, end: datetime) -> int:
    return max(0, round((end - start) / timedelta(milliseconds=1)))


class _Builder:
    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}
        self.last_at: datetime | None = None
        self.decided: dict[str, list[str | None]] = {}  # call id -> preview hashes decided on
        self.deciders: dict[str, list[str]] = {}

    def step(self, id: str, kind: StepKind, at: datetime, seq: int, **fields: Any) -> Step:
        found = self.steps.get(id)
        if found is None:
            found = Step(id=id, kind=kind, title=kind, started_at=at, ended_at=at, duration_ms=0)
            self.steps[id] = found
        for name, value in fields.items():
            setattr(found, name, value)
        found.audit_seqs.append(seq)
        return found

    def end(self, step: Step, at: datetime) -> None:
        step.ended_at = max(step.ended_at, at)
        step.duration_ms = _ms(step.started_at, step.ended_at)
        parent = self.steps.get(step.parent) if step.parent else None
        if parent is not None:
            self.end(parent, at)

    def add(self, event: AuditEvent) -> None:
        model = ap.ENGINE_PAYLOADS.get(event.kind)
        handler = getattr(self, "on_" + event.kind.replace(".", "_"), None)
        if model is None or handler is None:
            return
        try:
            payload = model.model_validate(event.payload)
        except ValidationError:
            return
        handler(event, payload)
        self.last_at = event.at

    def child(self, kind: StepKind, event: AuditEvent, **fields: Any) -> Step:
        call_id = event.call_id or ""
        return self.step(
            f"{kind}-{call_id}",
            kind,
            event.at,
            event.seq,
            parent=f"call-{call_id}",
            call_id=call_id,
            **fields,
        )

    def on_request(self, event: AuditEvent, payload: ap.Request) -> None:
        self.step(
            "request",
            "request",
            event.at,
            event.seq,
            title="request",
            actor=event.actor_name,
            text=payload.text,
        )

    def on_plan(self, event: AuditEvent, payload: ap.Plan) -> None:
        start = self.last_at or event.at
        turns = sum(1 for s in self.steps.values() if s.kind == "model_turn")
        # A direct run's plan has no model text: it is the person's own call.
        title = f"model turn {turns + 1}" if payload.text is not None else "plan"
        turn = self.step(
            f"turn-{event.seq}", "model_turn", start, event.seq, title=title, text=payload.text
        )
        self.end(turn, event.at)
        for planned in payload.calls:
            self.step(
                f"call-{planned.call_id}",
                "call",
                event.at,
                event.seq,
                title=planned.tool,
                call_id=planned.call_id,
                tool=planned.tool,
                object=call_object(planned.tool, planned.args),
                args=planned.args,
                classification=planned.classification,
                outcome="invalid" if planned.error else "planned",
            )

    def on_approval_requested(self, event: AuditEvent, payload: ap.ApprovalRequested) -> None:
        requirements = payload.requirements or {}
        for call in payload.calls:
            rules = requirements.get(call.call_id, {}).get("rule_ids", [])
            step = self.step(
                f"approval-{call.call_id}",
                "approval",
                event.at,
                event.seq,
                parent=f"call-{call.call_id}",
                call_id=call.call_id,
                title="approval",
                outcome="requested",
                tool=call.tool,
                object=call.object or call_object(call.tool, call.args),
                command=call.command,
                preview=call.preview,
                preview_state=call.preview_state,
                preview_sha256=call.preview_sha256 or ap.preview_hash(call.preview),
                rule_ids=[r for r in rules if isinstance(r, str)],
            )
            parent = self.steps.get(f"call-{call.call_id}")
            if parent is not None:
                parent.command = call.command
            self.end(step, event.at)

    def _decided(
        self, event: AuditEvent, payload: ap.ApprovalGranted | ap.ApprovalRejected, outcome: str
    ) -> None:
        call_id = event.call_id or ""
        step = self.child("approval", event)
        deciders = self.deciders.setdefault(call_id, [])
        deciders.append(event.actor_name)
        step.actor = ", ".join(dict.fromkeys(deciders))
        step.outcome = "counted" if payload.settled is False else outcome
        step.text = payload.reason
        step.rule_ids = list(dict.fromkeys([*step.rule_ids, *(payload.rule_ids or [])]))
        hashes = self.decided.setdefault(call_id, [])
        hashes.append(payload.preview_sha256)
        if step.preview_sha256 is not None and None not in hashes:
            step.preview_matches = all(h == step.preview_sha256 for h in hashes)
        self.end(step, event.at)
        self._settle(call_id, step.outcome)

    def on_approval_granted(self, event: AuditEvent, payload: ap.ApprovalGranted) -> None:
        self._decided(event, payload, "approved")

    def on_approval_rejected(self, event: AuditEvent, payload: ap.ApprovalRejected) -> None:
        self._decided(event, payload, "rejected")

    def on_approval_expired(self, event: AuditEvent, payload: ap.ApprovalExpired) -> None:
        ids = [event.call_id] if event.call_id else payload.call_ids
        if ids is None:
            ids = [
                s.call_id or ""
                for s in self.steps.values()
                if s.kind == "approval" and s.outcome == "requested"
            ]
        for call_id in ids:
            step = self.steps.get(f"approval-{call_id}")
            if step is not None:
                step.outcome, step.text = "expired", payload.reason
                step.audit_seqs.append(event.seq)
                self.end(step, event.at)
            self._settle(call_id, "expired")

    def _settle(self, call_id: str | None, outcome: str) -> None:
        call = self.steps.get(f"call-{call_id}")
        if call is not None:
            call.outcome = outcome

    def on_tool_started(self, event: AuditEvent, payload: ap.ToolStarted) -> None:
        self.child(
            "execution",
            event,
            title=f"run {payload.tool}",
            tool=payload.tool,
            command=payload.command,
            outcome="running",
            actor=payload.acting_as,  # whom the cluster saw, under impersonation
        )

    def on_tool_finished(self, event: AuditEvent, payload: ap.ToolFinished) -> None:
        step = self.child(
            "execution",
            event,
            title=f"run {payload.tool}",
            tool=payload.tool,
            outcome="refused" if payload.refused else payload.status,
            exit_code=payload.exit_code,
            output_size=payload.output_size,
            output_sha256=payload.output_sha256,
            truncated=payload.truncated,
            text=payload.reason,
        )
        if payload.duration_ms is not None and len(step.audit_seqs) == 1:
            step.started_at = event.at - timedelta(milliseconds=payload.duration_ms)
        self.end(step, event.at)
        if payload.duration_ms is not None:
            step.duration_ms = payload.duration_ms
        self._settle(event.call_id, step.outcome or payload.status)

    def on_tool_outcome_unknown(self, event: AuditEvent, payload: ap.ToolOutcomeUnknown) -> None:
        step = self.child(
            "execution", event, title=f"run {payload.tool}", outcome="unknown", text=payload.reason
        )
        self.end(step, event.at)
        self._settle(event.call_id, "outcome_unknown")

    def on_verify(self, event: AuditEvent, payload: ap.VerifyOutcome) -> None:
        execution = self.steps.get(f"execution-{event.call_id}")
        start = execution.ended_at if execution is not None else event.at
        step = self.child(
            "verification",
            event,
            title="verification",
            outcome=payload.verdict,
            text=payload.summary,
            evidence=payload.details,
        )
        step.started_at = min(step.started_at, start)
        self.end(step, event.at)
        self._settle(event.call_id, payload.verdict)

    def on_run_finished(self, event: AuditEvent, payload: ap.RunFinished) -> None:
        step = self.step(
            "answer",
            "answer",
            self.last_at or event.at,
            event.seq,
            title="answer",
            outcome=payload.status,
            text=payload.answer or payload.reason,
            actor=payload.stopped_by,
        )
        self.end(step, event.at)


def build(run_id: str, events: Iterable[AuditEvent]) -> RunTimeline:
    """The run's timeline from its audit events (seq order; other runs' are skipped)."""
    builder = _Builder()
    conversation_id: str | None = None
    for event in events:
        if event.run_id != run_id:
            continue
        conversation_id = conversation_id or event.conversation_id
        builder.add(event)
    # In time order, each call's approval, execution and verification right under it.
    timed = sorted(builder.steps.values(), key=lambda s: (s.started_at, s.audit_seqs[0]))
    steps: list[Step] = []
    for top in (s for s in timed if s.parent is None or s.parent not in builder.steps):
        steps += [top, *(s for s in timed if s.parent == top.id)]
    start = min((s.started_at for s in steps), default=None)
    end = max((s.ended_at for s in steps), default=None)
    answer = builder.steps.get("answer")
    return RunTimeline(
        run_id=run_id,
        conversation_id=conversation_id,
        started_at=start,
        ended_at=end,
        duration_ms=_ms(start, end) if start and end else 0,
        status=answer.outcome if answer is not None else None,
        steps=steps,
    )
