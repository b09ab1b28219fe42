"""Running calls through the tool server: reads, approved mutations, previews, verifies.

Used by the graph's nodes in `steps`. Every run records its start before the call and its
result after it (store, audit, stream); an approved mutation runs only after its item is
re-read, its hash recomputed from the graph state and matched, and the call moved
`approved -> running` atomically, so it runs at most once even across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from opsgate.domain import approval_token
from opsgate.domain import audit_payloads as audit
from opsgate.domain import events as ev
from opsgate.domain.acting import ActingAs
from opsgate.domain.calls import CallCheck, CallStatus, output_digest
from opsgate.domain.canonical import call_hash
from opsgate.engine import acting, history, policy, undo
from opsgate.engine.deps import EngineDeps, ToolResult
from opsgate.engine.recorder import Recorder
from opsgate.engine.sealing import Sealer
from opsgate.engine.state import CheckpointedCall, ClusterBinding, RunState
from opsgate.errors import Conflict, DecisionRefused, NotFound, OpsgateError, truncate
from opsgate.store.records import ApprovalEvidence, ApprovalItem
from opsgate.tools import redact
from opsgate.tools.base import PreviewReport, Progress, Verification


def streamed_data(data: Any) -> Any:
    """A result's structured data for the stream: redacted once more (the tool server
    redacts it; the stream is where a miss would be seen), and only when it is small."""
    if data is None:
        return None
    try:
        size = len(json.dumps(data, separators=(",", ":")))
    except (TypeError, ValueError):
        return None
    return redact.redact_value(data) if size <= ev.STREAMED_DATA_BYTES else None


@dataclass(frozen=True)
class Preview:
    """What the dry run before approval showed, as the approval card gets it."""

    text: str | None
    state: ev.PreviewOutcome
    command: str | None = None
    labels: dict[str, str] | None = None
    """The target's labels as the preview read them; None when it read none."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one change."""

    verdict: ev.Verdict
    summary: str
    output: str = ""
    details: tuple[str, ...] = ()
    next_step: str | None = None
    rollback: dict[str, Any] | None = None
    proves: str | None = None

    @property
    def status(self) -> CallStatus:
        return _VERDICT_STATUS[self.verdict]


_VERDICT_STATUS: dict[ev.Verdict, CallStatus] = {
    "verified": "verified",
    "failed": "verification_failed",
    "not_verified": "not_verified",
}


@dataclass(frozen=True)
class CallRunner:
    deps: EngineDeps
    recorder: Recorder
    sealer: Sealer
    stopped_by: dict[str, str] = field(default_factory=dict)
    """Run id -> who asked it to stop (shared with `Steps`)."""
    checking: dict[str, asyncio.Future[Verdict]] = field(default_factory=dict)
    """Run id -> its verification in progress, which a stop cancels."""

    def _emit(self, state: RunState, event: ev.EngineEvent) -> None:
        self.recorder.emit(state["conversation_id"], event)

    def _progress(self, state: RunState, call: CheckpointedCall) -> Progress:
        """Streams what the tool server says of a running call as `tool.progress` events."""

        async def report(text: str) -> None:
            self._emit(
                state, ev.ToolProgress(run_id=state["run_id"], call_id=call.call_id, text=text)
            )

        return report

    async def run_call(
        self,
        state: RunState,
        call: CheckpointedCall,
        approval: str | None,
        snapshot_sha256: str | None = None,
        acting_as: ActingAs | None = None,
    ) -> ToolResult | OpsgateError:
        """Run one call through the tool server (as `acting_as` on the cluster, when set),
        recording start (naming the snapshot taken before a change) and result."""
        run_id, call_id = state["run_id"], call.call_id
        audit_ids = {"conversation_id": state["conversation_id"], "run_id": run_id}
        self.recorder.audit(
            audit.ToolStarted(
                tool=call.tool,
                args=call.args,
                context=call.context,
                classification=call.classification,
                command=call.command,
                snapshot_sha256=snapshot_sha256,
                acting_as=acting_as.text if acting_as is not None else None,
            ),
            call_id=call_id,
            **audit_ids,
        )
        self._emit(
            state,
            ev.ToolStarted(
                run_id=run_id,
                call_id=call_id,
                tool=call.tool,
                args=call.args,
                classification=call.classification,
                command=call.command,
            ),
        )
        if approval is None:
            self.recorder.call_status(
                call_id,
                "running",
                expected=("planned",),
                acting_as=acting_as.text if acting_as is not None else None,
            )
        else:
            # A mutation runs only once its start is on disk: if the process dies while it
            # runs, recovery finds it `running` and marks it `outcome_unknown`.
            await self.recorder.flush()
        outcome: ToolResult | OpsgateError
        try:
            outcome = await self.deps.tools.call(
                call.tool,
                self.sealer.open(call),
                approval_token=approval,
                on_progress=self._progress(state, call),
                acting_as=acting_as,
            )
        except OpsgateError as e:
            outcome = e
        ok = not isinstance(outcome, OpsgateError) and outcome.ok
        text = result_text(outcome)
        status: CallStatus = "succeeded" if ok else "failed"
        exit_code, truncated, duration_ms = None, False, 0
        if not isinstance(outcome, OpsgateError):
            exit_code, truncated = outcome.exit_code, outcome.truncated
            duration_ms = outcome.duration_ms
        self.recorder.call_status(
            call_id,
            status,
            expected=("running",),
            output=text,
            exit_code=exit_code,
            truncated=truncated,
            duration_ms=duration_ms,
        )
        sha256, size = output_digest(text)
        self.recorder.audit(
            audit.ToolFinished(
                tool=call.tool,
                status=status,
                exit_code=exit_code,
                output=text,
                output_sha256=sha256,
                output_size=size,
                truncated=truncated,
                duration_ms=duration_ms,
            ),
            call_id=call_id,
            **audit_ids,
        )
        self._emit(
            state,
            ev.ToolFinished(
                run_id=run_id,
                call_id=call_id,
                tool=call.tool,
                status=status,
                output=text,
                truncated=truncated,
                exit_code=exit_code,
                duration_ms=duration_ms,
                data=None if isinstance(outcome, OpsgateError) else streamed_data(outcome.data),
            ),
        )
        if approval is not None:
            await self.recorder.flush()  # what a change did is written before anything else
        return outcome

    async def execute_approved(
        self, state: RunState, call: CheckpointedCall, item: ApprovalItem | None, expires: float
    ) -> tuple[str, bool | None]:
        """Run one approved mutation exactly once; the text for the model, and ok if it ran."""
        if item is None or item.status != "approved":
            status = item.status if item else "missing"
            decided = item.decision if item else None
            reason = decided.reason if decided and decided.reason else "no reason given"
            who = decided.decided_by_name if decided else "nobody"
            if status == "rejected":
                text = f"rejected by {who}: {reason}. The change was not run."
            elif status == "expired":
                text = "the approval request expired before a decision. The change was not run."
            else:
                text = f"not approved (status {status!r}). The change was not run."
            final: CallStatus = "rejected" if status == "rejected" else "expired"
            with contextlib.suppress(Conflict):
                await self.deps.store.set_call_status(
                    call.call_id, final, expected=["awaiting_approval", final]
                )
            return text, None
        try:
            exact = self.sealer.open(call)
        except DecisionRefused as e:
            return await self.refuse_tampered(state, call, str(e)), None
        shown = self.sealer.display(call.tool, exact)
        if shown != call.args or shown != item.args:
            why = "the arguments shown for approval differ from the ones that would run"
            return await self.refuse_tampered(state, call, why), None
        bound = call.cluster
        fingerprint = bound.fingerprint if bound else None
        recomputed = call_hash(call.tool, exact, call.context, fingerprint)
        if recomputed != item.call_hash:
            return await self.refuse_tampered(state, call), None
        evidence = await self.deps.store.approval_evidence(str(state["approval_id"]), call.call_id)
        why_not = _unproven(evidence, recomputed, shown, call, item)
        if why_not is not None:
            return await self.refuse_tampered(state, call, why_not), None
        if bound is not None:
            now = await self._identity(call.context)
            if isinstance(now, str) or now["fingerprint"] != fingerprint:
                server = now if isinstance(now, str) else f"now {now['server']}"
                why = (
                    f"context {call.context!r} no longer resolves to the approved cluster "
                    f"({bound.server}; {server})"
                )
                return await self.refuse_tampered(state, call, why), None
        # The store accepts a decision only before the request expires; the grace covers the
        # moment between an approval in the request's last second and the run resuming.
        deadline = expires + self.deps.limits.execution_grace_s
        if self.deps.clock() >= deadline:
            # Approved in time but resumed too late (e.g. after a long outage): the approval
            # covered a moment that has passed, so the change needs a fresh one.
            with contextlib.suppress(Conflict):
                await self.deps.store.set_call_status(
                    call.call_id, "expired", expected=["approved"]
                )
            self.report_lapsed(state, call)
            return "the approval expired before the change could run; it was not run.", None
        try:
            acting_as = await acting.approver(self.deps.store, self.deps.cluster_identity, item)
        except OpsgateError as e:
            return await self.refuse_tampered(state, call, str(e)), None
        acting_text = acting_as.text if acting_as is not None else None
        try:
            await self.deps.store.set_call_status(
                call.call_id, "running", expected=["approved"], acting_as=acting_text
            )
        except Conflict:
            return "this approved change was already started once; it is not run again.", None
        snapshot_sha256 = await undo.take_snapshot(
            self.deps,
            call_id=call.call_id,
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
            tool=call.tool,
            args=exact,
            acting_as=acting_as,
        )
        token = approval_token.mint(
            self.deps.approval_key,
            approval_token.ApprovalClaim(
                call_hash=item.call_hash,
                approval_id=f"{state['approval_id']}:{call.call_id}",
                expires_at=min(deadline, self.deps.clock() + self.deps.limits.token_ttl_s),
                acting_as=acting_text,
            ),
        )
        outcome = await self.run_call(
            state, call, approval=token, snapshot_sha256=snapshot_sha256, acting_as=acting_as
        )
        ok = not isinstance(outcome, OpsgateError) and outcome.ok
        return result_text(outcome), ok

    def report_lapsed(self, state: RunState, call: CheckpointedCall) -> None:
        """Audit and stream that an approved call's approval ran out before it could run."""
        approval_id = str(state["approval_id"])
        self.recorder.audit(
            audit.ApprovalExpired(
                approval_id=approval_id,
                call_ids=[call.call_id],
                reason="approved, but the approval expired before the change could run",
            ),
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
            call_id=call.call_id,
        )
        self._emit(
            state,
            ev.ApprovalExpired(
                run_id=state["run_id"], approval_id=approval_id, call_ids=[call.call_id]
            ),
        )

    def refuse_read(self, state: RunState, call: CheckpointedCall, why: str) -> str:
        """Record a read its requester may not run (their role in its scope) as refused."""
        message = f"refused: {why}; nothing was run"
        self.recorder.call_status(call.call_id, "refused", expected=("planned",), output=message)
        sha256, size = output_digest(message)
        self.recorder.audit(
            audit.ToolFinished(
                tool=call.tool,
                status="refused",
                exit_code=None,
                output=message,
                output_sha256=sha256,
                output_size=size,
                truncated=False,
                duration_ms=0,
                refused=True,
                reason=why,
            ),
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
            call_id=call.call_id,
        )
        self._emit(state, ev.ErrorEvent(run_id=state["run_id"], code="forbidden", message=message))
        return message

    async def refuse_tampered(
        self,
        state: RunState,
        call: CheckpointedCall,
        why: str = "the arguments differ from the approved ones",
    ) -> str:
        message = f"refused: {why}; nothing was run"
        record = await self.deps.store.set_call_status(
            call.call_id, "refused", expected=["approved"], output=message
        )
        self.recorder.audit(
            audit.ToolFinished(
                tool=call.tool,
                status=record.status,
                exit_code=None,
                output=record.output,
                output_sha256=record.output_sha256,
                output_size=record.output_size,
                truncated=False,
                duration_ms=0,
                refused=True,
                reason=why,
            ),
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
            call_id=call.call_id,
        )
        self._emit(
            state, ev.ErrorEvent(run_id=state["run_id"], code="decision_refused", message=message)
        )
        return message

    async def bind_cluster(
        self, call: CheckpointedCall, resolved: dict[str | None, dict[str, Any] | str]
    ) -> None:
        """Bind a change to the cluster its context resolves to now (filling a missing context
        with the kubeconfig's current one), so its approval cannot run anywhere else.

        `resolved` caches identities per context for one step; a context that does not resolve
        makes the call invalid (its error goes back to the model).
        """
        context = call.context
        if context not in resolved:
            resolved[context] = await self._identity(context)
        found = resolved[context]
        if isinstance(found, str):
            call.error = found
            return
        if context is None:
            call.context = found["context"]
            call.args = {**call.args, "context": found["context"]}
        call.cluster = ClusterBinding(server=found["server"], fingerprint=found["fingerprint"])
        call.call_hash = call_hash(call.tool, call.args, call.context, found["fingerprint"])

    async def _identity(self, context: str | None) -> dict[str, Any] | str:
        """The identity (`tools.kubectl.identity.ClusterIdentity` as JSON), or why there is none."""
        try:
            result = await self.deps.tools.cluster(context)
        except OpsgateError as e:
            return f"context {context!r} could not be resolved: {truncate(str(e), 300)}"
        if not result.ok or not isinstance(result.data, dict):
            return (
                f"context {context!r} does not resolve to a cluster: {truncate(result.text, 300)}"
            )
        return result.data

    async def check(self, placed: list[policy.Placed]) -> list[CallCheck | None]:
        """The tool server's check of each call that got through placement (None for the
        others); if the server cannot check them, each becomes invalid, saying why."""
        ready = [p for p in placed if p.error is None]
        found: list[CallCheck] = []
        if ready:
            try:
                found = await self.deps.tools.classify([(p.tool, p.args) for p in ready])
            except OpsgateError as e:
                why = f"the tool server could not check the arguments: {truncate(str(e), 300)}"
                found = [CallCheck(valid=False, error=why) for _ in ready]
        checks = iter(found)
        return [next(checks) if p.error is None else None for p in placed]

    async def preview(self, state: RunState, call: CheckpointedCall) -> Preview:
        """The tool's dry run, bounded: what would change, nothing, or that it failed.

        Under impersonation it runs as the proposer: the card shows what they could see.
        """
        try:
            acting_as = await acting.as_user(
                self.deps.store, self.deps.cluster_identity, call.context, state["user_id"]
            )
            result = await asyncio.wait_for(
                self.deps.tools.preview(call.tool, self.sealer.open(call), acting_as=acting_as),
                self.deps.limits.preview_timeout_s,
            )
        except (OpsgateError, TimeoutError) as e:
            why = truncate(
                str(e) or f"it did not finish in {self.deps.limits.preview_timeout_s:g} s"
            )
            return Preview(f"(no preview: {truncate(why, 300)})", "unavailable")
        if result.error == "not_declared":
            return Preview(None, "unavailable")
        text = history.cap_text(result.text, self.deps.limits.tool_result_cap_chars)
        report = _model_of(PreviewReport, result.data)
        if report is not None:
            return Preview(text, report.state, report.command, report.labels)
        return Preview(text, "changes" if result.ok else "failed")

    async def verify(self, state: RunState, call: CheckpointedCall) -> Verdict:
        """Check one change that ran (bounded), then report the verdict everywhere.

        A stop request cancels a check that is still waiting: the change then stays
        `not_verified`, saying who stopped it. Engine shutdown cancels it the same way, but
        that cancellation is passed on (the run is settled at the next start).
        """
        run_id = state["run_id"]
        check = asyncio.ensure_future(self._check(state, call))
        self.checking[run_id] = check
        try:
            verdict = await check
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            who = self.stopped_by.get(run_id) or "someone"
            verdict = Verdict(
                "not_verified",
                f"stopped by {who} before the check finished; the change ran but is not verified",
            )
        finally:
            self.checking.pop(run_id, None)
        if verdict.verdict == "failed":
            verdict = await self._offer_undo(call, verdict)
        self.report_verdict(state, call, verdict)
        return verdict

    async def _offer_undo(self, call: CheckpointedCall, verdict: Verdict) -> Verdict:
        """A failed check offers the undo planned from the snapshot when there is one: it
        restores the objects exactly as they were, where the tool's own rollback (a rollout
        undo) returns only to a revision."""
        try:
            snapshot = await self.deps.store.get_snapshot(call.call_id)
        except NotFound:
            return verdict
        if snapshot.undo is None:
            return verdict
        step = f"undo it (opsgate undo {call.call_id}), or fix the cause above"
        return dataclasses.replace(verdict, rollback=snapshot.undo, next_step=step)

    async def _check(self, state: RunState, call: CheckpointedCall) -> Verdict:
        limit = self.deps.limits.verify_timeout_s
        try:
            approval = await self.deps.store.get_approval(str(state["approval_id"]))
            item = next((i for i in approval.items if i.call_id == call.call_id), None)
            acting_as = (
                None
                if item is None  # the tool server then refuses an impersonating context
                else await acting.approver(self.deps.store, self.deps.cluster_identity, item)
            )
            result = await asyncio.wait_for(
                self.deps.tools.verify(
                    call.tool,
                    self.sealer.open(call),
                    on_progress=self._progress(state, call),
                    acting_as=acting_as,
                ),
                limit,
            )
        except TimeoutError:
            return Verdict(
                "failed",
                f"the check did not finish within {limit:g} s: the change did not reach the "
                "intended state in time",
                next_step="look at the workload's pods and events, then fix or roll back",
            )
        except OpsgateError as e:
            return Verdict(
                "not_verified",
                f"the check could not run: {truncate(str(e), 300)}",
            )
        if result.error == "not_declared":
            return Verdict(
                "not_verified",
                f"{call.tool} declares no check: the change ran, nothing verified its effect",
            )
        output = history.cap_text(result.text, 4000)
        found = _model_of(Verification, result.data)
        if found is None:
            # A check that does not say what it proved proves nothing we can show as verified.
            line = _last_line(result.text)
            if result.ok:
                return Verdict("not_verified", f"the check passed: {line}", output)
            return Verdict("failed", f"the check failed: {line}", output)
        return Verdict(
            found.verdict,
            truncate(found.summary, 500),
            output,
            tuple(truncate(d, 500) for d in found.details[:10]),
            found.next_step,
            found.rollback.model_dump(mode="json") if found.rollback else None,
            found.proves,
        )

    def report_verdict(self, state: RunState, call: CheckpointedCall, verdict: Verdict) -> None:
        """Record the verdict as the call's state, on the stream and in the audit log."""
        self.recorder.call_status(call.call_id, verdict.status, expected=("succeeded",))
        self._emit(
            state,
            ev.VerifyOutcome(
                run_id=state["run_id"],
                call_id=call.call_id,
                tool=call.tool,
                verdict=verdict.verdict,
                summary=verdict.summary,
                proves=verdict.proves,
                details=list(verdict.details),
                next_step=verdict.next_step,
                rollback=verdict.rollback,
                output=verdict.output,
            ),
        )
        self.recorder.audit(
            audit.VerifyOutcome(
                tool=call.tool,
                verdict=verdict.verdict,
                summary=verdict.summary,
                details=list(verdict.details),
                rollback=verdict.rollback,
            ),
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
            call_id=call.call_id,
        )


def _unproven(
    evidence: ApprovalEvidence,
    recomputed: str,
    shown: dict[str, Any],
    call: CheckpointedCall,
    item: ApprovalItem,
) -> str | None:
    """Why the audit log does not prove this exact change was approved, or None if it does.

    The tamper-evident record decides, not the mutable rows: the `approval.requested` event
    (HMAC-verified) must hold this very call hash, context and shown arguments, and an
    authentic `approval.granted` by the approver the database names must follow it.
    """
    if evidence.forged:
        seqs = ", ".join(str(seq) for seq in evidence.forged[:5])
        return f"the audit log holds edited records of this approval (events {seqs})"
    requested = evidence.requested
    if requested is None:
        return "the audit log holds no record of this call's approval request"
    if requested.get("call_hash") != recomputed or requested.get("context") != call.context:
        return "the call differs from the one the audit log says was put up for approval"
    if requested.get("args") != shown:
        return "the arguments differ from the ones the audit log says the approver was shown"
    decision = evidence.decision
    if decision is None or decision.kind != "approval.granted":
        return "the audit log holds no approval of this call"
    if item.decision is None or decision.actor_id != item.decision.decided_by:
        return "the approver on record differs from the one in the audit log"
    stored = item.requirement.model_dump(mode="json") if item.requirement else None
    if evidence.requirement != stored:
        return "the policy's requirement differs from the one the audit log recorded"
    counted = {e.actor_id for e in evidence.counted if e.kind == "approval.granted"}
    approvers = {d.decided_by for d in item.decisions if d.decision == "approve"}
    if not approvers - {item.decision.decided_by} <= counted:
        return "an approval the policy counted is missing from the audit log"
    return None


def model_note(verdict: Verdict) -> str:
    """What the model is told of a check, so its answer cannot claim more than was proved."""
    if verdict.verdict == "verified":
        return f"verification passed: {verdict.summary}"
    if verdict.verdict == "not_verified":
        return (
            f"NOT VERIFIED: {verdict.summary}. Tell the person the change was not verified; "
            "do not say it worked."
        )
    lines = [f"verification FAILED: {verdict.summary}", *verdict.details]
    if verdict.next_step:
        lines.append(f"Next step: {verdict.next_step}")
    if verdict.rollback:
        args = json.dumps(verdict.rollback["args"], sort_keys=True)
        lines.append(
            f"To undo it, propose {verdict.rollback['tool']} with {args} (it needs approval)."
        )
    lines.append("Do not claim success.")
    return "\n".join(lines)


_Model = TypeVar("_Model", bound=BaseModel)


def _model_of(model: type[_Model], data: Any) -> _Model | None:
    """`data` as `model` when the tool server sent one (structured content), else None."""
    if not isinstance(data, dict):
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return truncate(lines[-1], 200) if lines else "(no output)"


def result_text(outcome: ToolResult | OpsgateError) -> str:
    if isinstance(outcome, OpsgateError):
        return f"error ({outcome.code}): {truncate(str(outcome), 1000)}"
    if outcome.ok:
        return outcome.text
    prefix = f"error ({outcome.error})" if outcome.error else f"failed (exit {outcome.exit_code})"
    return f"{prefix}: {outcome.text}"


def summary_line(tool: str, outcome: ToolResult | OpsgateError) -> str:
    text = result_text(outcome).strip()
    return f"{tool}: {truncate(text, 500)}"
