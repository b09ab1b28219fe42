"""Running calls through the tool server: reads, approved mutations, previews, verifies.

Used by the graph's nodes in `steps`. Every run records its start before the call and its
result after it (store, audit, stream); an approved mutation runs only after its item is
re-read, its hash recomputed from the graph state and matched, and the call moved
`approved -> running` atomically, so it runs at most once even across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from opsgate.domain import approval_token
from opsgate.domain import events as ev
from opsgate.domain.calls import CallStatus, output_digest
from opsgate.domain.canonical import call_hash
from opsgate.engine import history
from opsgate.engine.deps import EngineDeps, ToolResult
from opsgate.engine.recorder import Recorder
from opsgate.engine.state import RunState
from opsgate.errors import Conflict, OpsgateError, ToolTimeout, truncate
from opsgate.store.records import ApprovalItem
from opsgate.tools.base import Progress


@dataclass(frozen=True)
class Verdict:
    """The outcome of one verify recipe."""

    ok: bool
    output: str
    summary: str


@dataclass(frozen=True)
class CallRunner:
    deps: EngineDeps
    recorder: Recorder

    def _emit(self, state: RunState, event: ev.EngineEvent) -> None:
        self.recorder.emit(state["conversation_id"], event)

    def _progress(self, state: RunState, call: dict[str, Any]) -> Progress:
        """Streams what the tool server says of a running call as `tool.progress` events."""

        async def report(text: str) -> None:
            self._emit(
                state, ev.ToolProgress(run_id=state["run_id"], call_id=call["call_id"], text=text)
            )

        return report

    async def run_call(
        self, state: RunState, call: dict[str, Any], approval: str | None
    ) -> ToolResult | OpsgateError:
        """Run one call through the tool server, recording start and result."""
        run_id, call_id = state["run_id"], call["call_id"]
        audit_ids = {"conversation_id": state["conversation_id"], "run_id": run_id}
        self.recorder.audit(
            "tool.started",
            {
                "tool": call["tool"],
                "args": call["args"],
                "context": call["context"],
                "classification": call["classification"],
            },
            call_id=call_id,
            **audit_ids,
        )
        self._emit(
            state,
            ev.ToolStarted(
                run_id=run_id,
                call_id=call_id,
                tool=call["tool"],
                args=call["args"],
                classification=call["classification"],
            ),
        )
        if approval is None:
            self.recorder.call_status(call_id, "running", expected=("planned",))
        else:
            # A mutation runs only once its start is on disk: if the process dies while it
            # runs, recovery finds it `running` and marks it `outcome_unknown`.
            await self.recorder.flush()
        outcome: ToolResult | OpsgateError
        try:
            outcome = await self.deps.tools.call(
                call["tool"],
                call["args"],
                approval_token=approval,
                on_progress=self._progress(state, call),
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
            "tool.finished",
            {
                "tool": call["tool"],
                "status": status,
                "exit_code": exit_code,
                "output": text,
                "output_sha256": sha256,
                "output_size": size,
                "truncated": truncated,
                "duration_ms": duration_ms,
            },
            call_id=call_id,
            **audit_ids,
        )
        self._emit(
            state,
            ev.ToolFinished(
                run_id=run_id,
                call_id=call_id,
                tool=call["tool"],
                status=status,
                output=text,
                truncated=truncated,
                exit_code=exit_code,
                duration_ms=duration_ms,
            ),
        )
        if approval is not None:
            await self.recorder.flush()  # what a change did is written before anything else
        return outcome

    async def execute_approved(
        self, state: RunState, call: dict[str, Any], item: ApprovalItem | None, expires: float
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
                    call["call_id"], final, expected=["awaiting_approval", final]
                )
            return text, None
        recomputed = call_hash(call["tool"], call["args"], call["context"])
        if recomputed != item.call_hash:
            return await self.refuse_tampered(state, call), None
        if self.deps.clock() >= expires:
            # Approved in time but resumed too late (e.g. after a long outage): the approval
            # covered a moment that has passed, so the change needs a fresh one.
            with contextlib.suppress(Conflict):
                await self.deps.store.set_call_status(
                    call["call_id"], "expired", expected=["approved"]
                )
                self.report_lapsed(state, call)
            return "the approval expired before the change could run; it was not run.", None
        try:
            await self.deps.store.set_call_status(call["call_id"], "running", expected=["approved"])
        except Conflict:
            return "this approved change was already started once; it is not run again.", None
        token = approval_token.mint(
            self.deps.approval_key,
            approval_token.ApprovalClaim(
                call_hash=item.call_hash,
                approval_id=f"{state['approval_id']}:{call['call_id']}",
                expires_at=min(expires, self.deps.clock() + self.deps.limits.token_ttl_s),
            ),
        )
        outcome = await self.run_call(state, call, approval=token)
        ok = not isinstance(outcome, OpsgateError) and outcome.ok
        return result_text(outcome), ok

    def report_lapsed(self, state: RunState, call: dict[str, Any]) -> None:
        """Audit and stream that an approved call's approval ran out before it could run."""
        approval_id = str(state["approval_id"])
        self.recorder.audit(
            "approval.expired",
            {
                "approval_id": approval_id,
                "call_ids": [call["call_id"]],
                "reason": "approved, but the approval expired before the change could run",
            },
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
            call_id=call["call_id"],
        )
        self._emit(
            state,
            ev.ApprovalExpired(
                run_id=state["run_id"], approval_id=approval_id, call_ids=[call["call_id"]]
            ),
        )

    async def refuse_tampered(self, state: RunState, call: dict[str, Any]) -> str:
        message = "refused: the arguments differ from the approved ones; nothing was run"
        record = await self.deps.store.set_call_status(
            call["call_id"], "skipped", expected=["approved"], output=message
        )
        self.recorder.audit(
            "tool.finished",
            {
                "tool": call["tool"],
                "status": record.status,
                "exit_code": None,
                "output": record.output,
                "output_sha256": record.output_sha256,
                "output_size": record.output_size,
                "truncated": False,
                "duration_ms": 0,
                "refused": True,
            },
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
            call_id=call["call_id"],
        )
        self._emit(
            state, ev.ErrorEvent(run_id=state["run_id"], code="decision_refused", message=message)
        )
        return message

    async def preview(self, call: dict[str, Any]) -> str | None:
        spec = self.deps.tool_specs.get(call["tool"])
        if spec is None or spec.preview is None:
            return None
        try:
            result = await asyncio.wait_for(
                self.deps.tools.preview(call["tool"], call["args"]),
                self.deps.limits.preview_timeout_s,
            )
        except (OpsgateError, TimeoutError) as e:
            return f"(no preview: {truncate(str(e) or type(e).__name__, 300)})"
        return history.cap_text(result.text, self.deps.limits.tool_result_cap_chars)

    async def verify(self, state: RunState, call: dict[str, Any]) -> Verdict:
        """Run the call's verify recipe (bounded), then report it on the stream and in audit."""
        try:
            result = await asyncio.wait_for(
                self.deps.tools.verify(
                    call["tool"], call["args"], on_progress=self._progress(state, call)
                ),
                self.deps.limits.verify_timeout_s,
            )
            ok, output = result.ok, result.text
        except (OpsgateError, TimeoutError) as e:
            timeout = ToolTimeout(f"verification of {call['tool']!r} did not finish")
            ok, output = False, str(e) or str(timeout)
        line = output.strip().splitlines()[-1] if output.strip() else ""
        verdict = "passed" if ok else "FAILED"
        summary = f"verification {verdict}: {truncate(line, 200)}"
        self._emit(
            state,
            ev.VerifyOutcome(
                run_id=state["run_id"],
                call_id=call["call_id"],
                tool=call["tool"],
                ok=ok,
                summary=summary,
                output=history.cap_text(output, 4000),
            ),
        )
        self.recorder.audit(
            "verify",
            {"tool": call["tool"], "ok": ok, "summary": summary},
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
            call_id=call["call_id"],
        )
        return Verdict(ok=ok, output=output, summary=summary)


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
