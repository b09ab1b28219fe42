"""The work behind each node of the graph: plan, classify, reads, approval, execute, verify, end.

`opsgate.engine.graph` wires these into a compiled LangGraph graph; `Steps` holds the engine's
dependencies and the set of runs asked to stop. Every node returns a partial `RunState` update;
side effects that must not repeat (a mutation) are guarded by the store's state machine.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from langgraph.types import interrupt

from opsgate.domain import audit_payloads as audit
from opsgate.domain import events as ev
from opsgate.domain import outcomes, targets
from opsgate.domain.policy import Requirement, requirement_for
from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.engine import acting, execution, history, policy, policy_source, sealing, turns
from opsgate.engine.deps import NO_TRACER, EngineDeps
from opsgate.engine.models.base import ModelMessage, ModelToolCall, ToolSchema, Usage
from opsgate.engine.prompts import system_prompt
from opsgate.engine.recorder import Recorder
from opsgate.engine.state import (
    CheckpointedCall,
    ProposedCall,
    Route,
    RunState,
    end,
    load_call,
)
from opsgate.errors import ModelError, OpsgateError
from opsgate.store.records import NewCall, NewMessage, User


@dataclass
class Steps:
    deps: EngineDeps
    stop_requested: dict[str, str] = field(default_factory=dict)
    """Run id -> the name of who asked it to stop; honoured before every step."""
    tool_schemas: list[ToolSchema] = field(init=False)
    read_schemas: list[ToolSchema] = field(init=False)
    """What a read-only run is offered: the tools annotated `readOnlyHint: true`."""

    def __post_init__(self) -> None:
        self.tool_schemas = [
            ToolSchema(name=t.name, description=t.description, parameters=turns.model_schema(t))
            for t in self.deps.tool_specs.values()
        ]
        reads = {t.name for t in self.deps.tool_specs.values() if t.annotations.read_only}
        self.read_schemas = [s for s in self.tool_schemas if s.name in reads]
        self.recorder = Recorder(self.deps.store, self.deps.bus)
        self.sealer = sealing.Sealer.from_key(self.deps.secret_key)
        self.calls = execution.CallRunner(
            self.deps, self.recorder, self.sealer, self.stop_requested
        )
        self.policies = policy_source.PolicySource(self.deps.store, self.deps.policy_file)

    # -- helpers ---------------------------------------------------------------------------

    def _emit(self, state: RunState, event: ev.EngineEvent) -> None:
        self.recorder.emit(state["conversation_id"], event)

    def _stopping(self, state: RunState) -> bool:
        return state["run_id"] in self.stop_requested

    def _stop(self, state: RunState) -> RunState:
        """The update that ends a run its requester (or an operator) asked to stop."""
        who = self.stop_requested.get(state["run_id"], "someone")
        return end("stopped", f"stopped by {who}")

    def _after_step(self, state: RunState) -> Route:
        return "plan" if state["kind"] == "chat" else "answer"

    @staticmethod
    def _summary(state: RunState, lines: list[str]) -> RunState:
        """The summary update: kept for direct runs only, whose answer it becomes (a chat
        run's answer is the model's), so chat checkpoints don't carry it."""
        return {"summary": lines} if state["kind"] == "direct" else {}

    def _tool_message(
        self, state: RunState, call: CheckpointedCall, text: str, messages: list[dict[str, Any]]
    ) -> None:
        capped = history.cap_text(text, self.deps.limits.tool_result_cap_chars)
        messages.append(
            ModelMessage(
                role="tool",
                content=capped,
                tool_call_id=call.model_call_id or call.call_id,
                name=call.tool,
            ).model_dump(mode="json")
        )
        self.recorder.message(
            NewMessage(
                state["conversation_id"],
                "tool",
                capped,
                run_id=state["run_id"],
                data={"call_id": call.call_id, "tool": call.tool},
            )
        )

    # -- plan ------------------------------------------------------------------------------

    async def plan(self, state: RunState) -> RunState:
        if self._stopping(state):
            return self._stop(state)
        model = self.deps.model
        if model is None:
            return end("failed", "no model is configured; propose tool calls directly")
        if state.get("model_turns", 0) >= self.deps.limits.max_model_turns:
            return end("failed", f"reached the limit of {self.deps.limits.max_model_turns} turns")
        note = turns.cluster_note(state) + turns.read_only_note(state)
        prompt = [ModelMessage(role="system", content=system_prompt() + note)]
        prompt += [ModelMessage.model_validate(m) for m in state.get("messages", [])]
        prompt = history.trim_history(prompt, self.deps.limits.model_context_tokens)
        text_parts: list[str] = []
        calls: list[ModelToolCall] = []
        usage = Usage()
        run_id = state["run_id"]
        tokens = turns.TokenBuffer()
        try:
            schemas = self.read_schemas if state.get("read_only") else self.tool_schemas
            async for chunk in model.stream(prompt, schemas):
                if chunk.text:
                    text_parts.append(chunk.text)
                    ready = tokens.add(chunk.text, time.monotonic())
                    if ready:
                        self._emit(state, ev.Token(run_id=run_id, text=ready))
                calls.extend(chunk.tool_calls)
                usage = chunk.usage or usage
        except ModelError as e:
            return end("failed", str(e))
        rest = tokens.flush()
        if rest:
            self._emit(state, ev.Token(run_id=run_id, text=rest))
        text = "".join(text_parts)
        held = [self.sealer.hold(c.name, c.args) for c in calls]
        # The model's own history keeps its calls as everyone else sees them (secrets masked).
        shown = [c.model_copy(update={"args": h["args"]}) for c, h in zip(calls, held, strict=True)]
        assistant = ModelMessage(role="assistant", content=text, tool_calls=shown)
        self.recorder.message(
            NewMessage(
                state["conversation_id"],
                "assistant",
                text,
                run_id=run_id,
                data={
                    "tool_calls": [c.model_dump(mode="json") for c in shown],
                    "usage": usage.model_dump(),
                    "model": model.name,
                },
            )
        )
        update: RunState = {
            "messages": [*state.get("messages", []), assistant.model_dump(mode="json")],
            "model_turns": state.get("model_turns", 0) + 1,
        }
        if not calls:
            update["answer"] = text
            update["next"] = "answer"
            return update
        pending = [
            ProposedCall(
                call_id=str(uuid.uuid4()),
                model_call_id=c.id,
                tool=c.name,
                **h,
                args_error=c.args_error,
            ).state()
            for c, h in zip(calls, held, strict=True)
        ]
        update["pending"] = pending
        update["next"] = "classify"
        update["plan_text"] = text
        return update

    # -- classify --------------------------------------------------------------------------

    async def classify(self, state: RunState) -> RunState:
        if self._stopping(state):
            return self._stop(state)
        limit = self.deps.limits.max_tool_calls
        used = state.get("tool_calls", 0)
        classified: list[CheckpointedCall] = []
        clusters: dict[str | None, dict[str, Any] | str] = {}
        pending = [load_call(ProposedCall, raw) for raw in state.get("pending", [])]
        placed = [
            policy.place(
                self.deps.tool_specs, raw.tool, self.sealer.open(raw), state.get("contexts", [])
            )
            for raw in pending
        ]
        checks = await self.calls.check(placed)
        for raw, where, check in zip(pending, placed, checks, strict=True):
            decided = policy.classify(self.deps.tool_specs, raw.call_id, where, check)
            call = CheckpointedCall.model_validate(decided, from_attributes=True)
            if raw.args_error:
                call.error = f"arguments were not a JSON object: {raw.args_error}"
            elif call.error is None and used >= limit:
                call.error = f"the run reached its limit of {limit} tool calls"
            if call.error is None:
                used += 1
                spec = self.deps.tool_specs.get(call.tool)
                if call.classification == "mutation" and spec is not None and spec.reaches_cluster:
                    await self.calls.bind_cluster(call, clusters)
            held = self.sealer.hold(call.tool, call.args)
            call.args, call.sealed = held["args"], held["sealed"]
            call.model_call_id = raw.model_call_id
            classified.append(call)
            self.recorder.call(
                NewCall(
                    call_id=call.call_id,
                    run_id=state["run_id"],
                    tool=call.tool,
                    args=call.args,
                    context=call.context,
                    classification=call.classification,
                    destructive=call.destructive,
                    call_hash=call.call_hash,
                    status="invalid" if call.error else "planned",
                    cluster=call.cluster.server if call.cluster else None,
                )
            )
        planned = [
            ev.PlannedCall(
                call_id=c.call_id,
                tool=c.tool,
                args=c.args,
                context=c.context,
                classification=c.classification,
                destructive=c.destructive,
                error=c.error,
            )
            for c in classified
        ]
        plan_text = state.get("plan_text")
        self._emit(state, ev.Plan(run_id=state["run_id"], text=plan_text, calls=planned))
        self.recorder.audit(
            audit.Plan(calls=planned, text=plan_text),
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
        )
        stored = [c.state() for c in classified]
        if used > limit or (used == limit and all(c.error for c in classified)):
            return {"pending": stored, "tool_calls": used, **end("failed", "tool call limit")}
        return {"pending": stored, "tool_calls": used, "next": "execute_reads"}

    # -- reads -----------------------------------------------------------------------------

    async def execute_reads(self, state: RunState) -> RunState:
        messages = list(state.get("messages", []))
        summary = list(state.get("summary", []))
        has_mutation = False
        for call in _pending(state):
            if self._stopping(state):
                return {"messages": messages, **self._stop(state)}
            if call.error:
                summary.append(f"{call.tool}: not run: {call.error}")
                self._tool_message(state, call, f"error: {call.error}", messages)
                continue
            if call.classification == "mutation":
                has_mutation = True
                continue
            try:
                reader = await acting.reader(
                    self.deps.store,
                    self.deps.cluster_identity,
                    state["user_id"],
                    call.context,
                    call.args,
                )
            except OpsgateError as e:
                summary.append(f"{call.tool}: not run: {e}")
                refused = self.calls.refuse_read(state, call, str(e))
                self._tool_message(state, call, refused, messages)
                continue
            result = await self.calls.run_call(state, call, approval=None, acting_as=reader)
            summary.append(execution.summary_line(call.tool, result))
            self._tool_message(state, call, execution.result_text(result), messages)
        route: Route = "request_approval" if has_mutation else self._after_step(state)
        return {"messages": messages, **self._summary(state, summary), "next": route}

    # -- approval --------------------------------------------------------------------------

    async def request_approval(self, state: RunState) -> RunState:
        if self._stopping(state):
            return self._stop(state)
        pending = _pending(state)
        mutations = [c for c in pending if c.classification == "mutation" and not c.error]
        previews = [await self.calls.preview(state, c) for c in mutations]
        items = [
            _NewItem(c.call_id, p.text, p.state, p.command)
            for c, p in zip(mutations, previews, strict=True)
        ]
        await self.recorder.flush()  # the request is opened over calls already recorded
        labels = {c.call_id: p.labels for c, p in zip(mutations, previews, strict=True)}
        requirements = await self._requirements(state, mutations, labels)
        ttl_s = min(
            [r.ttl_s(self.deps.limits.approval_ttl_s) for r in requirements.values()]
            or [self.deps.limits.approval_ttl_s]
        )
        expires_at = self.deps.now() + timedelta(seconds=ttl_s)
        request = await self.deps.store.create_approval(
            run_id=state["run_id"],
            proposed_by=state["user_id"],
            expires_at=expires_at,
            items=items,
            requirements=requirements,
        )
        calls = [
            ev.ApprovalCall(
                call_id=c.call_id,
                tool=c.tool,
                args=c.args,
                context=c.context,
                namespace=c.args.get("namespace"),
                destructive=c.destructive,
                call_hash=c.call_hash,
                preview=item.preview,
                preview_state=item.preview_state,
                command=item.command,
                cluster=c.cluster.server if c.cluster else None,
            )
            for c, item in zip(mutations, items, strict=True)
        ]
        self.recorder.audit(
            audit.ApprovalRequested(
                approval_id=request.id,
                calls=[
                    audit.RequestedCall.model_validate(c, from_attributes=True).model_copy(
                        update={
                            "object": targets.call_object(c.tool, c.args),
                            "preview_sha256": audit.preview_hash(c.preview),
                        }
                    )
                    for c in calls
                ],
                expires_at=expires_at,
                requirements=(
                    {call_id: r.model_dump(mode="json") for call_id, r in requirements.items()}
                    or None
                ),
            ),
            conversation_id=state["conversation_id"],
            run_id=state["run_id"],
        )
        reported = await self._report_usage(state)
        await self.deps.store.set_run_status(state["run_id"], "awaiting_approval")
        self._emit(
            state,
            ev.ApprovalRequested(
                run_id=state["run_id"],
                approval_id=request.id,
                proposed_by=state["user_name"],
                expires_at=expires_at,
                calls=calls,
            ),
        )
        self._emit(state, ev.RunPaused(run_id=state["run_id"], approval_id=request.id))
        await self.recorder.flush()  # paused: the run's records are all written
        commands = {item.call_id: item.command for item in items}
        for call in pending:
            if call.call_id in commands:
                call.command = commands[call.call_id]
        return {
            "approval_id": request.id,
            "pending": [c.state() for c in pending],
            "next": "gate",
            **reported,
        }

    async def _requirements(
        self,
        state: RunState,
        mutations: list[CheckpointedCall],
        labels: dict[str, dict[str, str] | None],
    ) -> dict[str, Requirement]:
        """What the active policy requires of each mutation, fixed now for the request's life;
        empty under the built-in gate (its items need the one approval they always did)."""
        active = await self.policies.active()
        if active.source == "built-in":
            return {}
        requester = await self.deps.store.get_user(state["user_id"])
        return {
            c.call_id: requirement_for(
                active.policy,
                policy_source.subject(
                    self.deps.tool_specs.get(c.tool),
                    c.tool,
                    self.sealer.open(c),
                    c.context,
                    c.destructive,
                    requester,
                    labels[c.call_id],
                ),
                active.version,
            )
            for c in mutations
        }

    async def gate(self, state: RunState) -> RunState:
        """Pause until every item of the approval request is decided (or expired)."""
        interrupt({"approval_id": state["approval_id"], "run_id": state["run_id"]})
        # Resumed: every item is decided (or expired).
        await self._trace_approval_wait(state)
        self._emit(
            state, ev.RunResumed(run_id=state["run_id"], approval_id=str(state["approval_id"]))
        )
        return {"next": "execute"}

    async def _trace_approval_wait(self, state: RunState) -> None:
        """The wait at the gate as a span, from the request to its last decision."""
        if self.deps.tracer is NO_TRACER:
            return
        approval = await self.deps.store.get_approval(str(state["approval_id"]))
        decided = [i.decision.decided_at for i in approval.items if i.decision is not None]
        self.deps.tracer.record(
            "opsgate.approval.wait",
            approval.created_at,
            max(decided, default=self.deps.now()),
            {
                "opsgate.approval_id": approval.id,
                "opsgate.run_id": approval.run_id,
                "opsgate.approval.status": approval.status,
                "opsgate.approval.calls": len(approval.items),
            },
        )

    # -- execute ---------------------------------------------------------------------------

    async def execute(self, state: RunState) -> RunState:
        run = await self.deps.store.get_run(state["run_id"])
        if self._stopping(state) or run.status == "stopped":
            return self._stop(state)
        await self.deps.store.set_run_status(state["run_id"], "running")
        approval = await self.deps.store.get_approval(str(state["approval_id"]))
        items = {item.call_id: item for item in approval.items}
        messages = list(state.get("messages", []))
        summary = list(state.get("summary", []))
        executed: list[dict[str, Any]] = []
        for call in _pending(state):
            if call.classification != "mutation" or call.error:
                continue
            if self._stopping(state):
                return {"messages": messages, **self._stop(state)}
            item = items.get(call.call_id)
            text, ok = await self.calls.execute_approved(
                state, call, item, approval.expires_at.timestamp()
            )
            summary.append(f"{call.tool}: {text.splitlines()[0] if text else ''}")
            if ok is not None:
                executed.append(call.model_copy(update={"ok": ok}).state())
            self._tool_message(state, call, text, messages)
        return {
            "messages": messages,
            **self._summary(state, summary),
            "executed": executed,
            "next": "verify",
        }

    # -- verify ----------------------------------------------------------------------------

    async def verify(self, state: RunState) -> RunState:
        """Check every change of the step that ran; a stop leaves the rest not verified."""
        messages = list(state.get("messages", []))
        summary = list(state.get("summary", []))
        for call in [load_call(CheckpointedCall, raw) for raw in state.get("executed", [])]:
            if not call.ok:
                continue
            if self._stopping(state):
                who = self.stop_requested.get(state["run_id"], "someone")
                verdict = execution.Verdict(
                    "not_verified", f"stopped by {who} before it was checked"
                )
                self.calls.report_verdict(state, call, verdict)
            else:
                verdict = await self.calls.verify(state, call)
            summary.append(f"{call.tool}: {verdict.verdict.replace('_', ' ')}: {verdict.summary}")
            note = execution.model_note(verdict)
            if verdict.output:
                note += f"\nCheck output:\n{history.cap_text(verdict.output, 1500)}"
            turns.append_to_result(messages, call.model_call_id or call.call_id, note)
            self.recorder.message(
                NewMessage(
                    state["conversation_id"],
                    "tool",
                    note,
                    run_id=state["run_id"],
                    data={"call_id": call.call_id, "tool": call.tool, "verdict": verdict.verdict},
                )
            )
        update: RunState = {"messages": messages, **self._summary(state, summary), "executed": []}
        if self._stopping(state):
            return {**update, **self._stop(state)}
        return {**update, "next": self._after_step(state)}

    # -- end -------------------------------------------------------------------------------

    async def answer(self, state: RunState) -> RunState:
        if self._stopping(state):
            return await self.finish({**state, **self._stop(state)})
        text = state.get("answer")
        if state["kind"] == "direct" or text is None:
            text = "\n".join(state.get("summary", [])) or "nothing was run"
        self._emit(state, ev.Answer(run_id=state["run_id"], text=text))
        if state["kind"] == "direct":
            self.recorder.message(
                NewMessage(state["conversation_id"], "assistant", text, run_id=state["run_id"])
            )
        await self._report_usage(state)
        await self.close_run(state["run_id"], state["conversation_id"], "answered", answer=text)
        return {"answer": text}

    async def finish(self, state: RunState) -> RunState:
        outcome = state.get("outcome") or {"status": "failed", "reason": "ended early"}
        await self._report_usage(state)
        await self.close_run(
            state["run_id"], state["conversation_id"], outcome["status"], outcome.get("reason")
        )
        return {}

    async def _report_usage(self, state: RunState) -> RunState:
        """Add the run's new model turns and tool calls to its record.

        Done when the run pauses or ends rather than at every step: the guards use the
        counters in the graph state, the record is for people, and each write costs a step.
        """
        turns = state.get("model_turns", 0) - state.get("reported_turns", 0)
        calls = state.get("tool_calls", 0) - state.get("reported_calls", 0)
        if turns or calls:
            await self.deps.store.count_run_usage(
                state["run_id"], model_turns=turns, tool_calls=calls
            )
        return {
            "reported_turns": state.get("model_turns", 0),
            "reported_calls": state.get("tool_calls", 0),
        }

    async def close_run(
        self,
        run_id: str,
        conversation_id: str,
        end: outcomes.RunEnd,
        reason: str | None = None,
        *,
        answer: str | None = None,
        error_code: str = "run_failed",
        actor: User | None = None,
    ) -> None:
        """End a run, once: its status derived from its calls, reported on stream and audit.

        The one way a run ends, whether it answered, broke off, failed in the engine, or was
        stopped (also while paused at the gate, with `actor` the person who stopped it).
        """
        stopped_by = self.stop_requested.pop(run_id, None)
        current = await self.deps.store.get_run(run_id)
        if current.status in FINAL_RUN_STATUSES:
            await self.recorder.flush()
            return  # already ended (stopped while paused at the gate): report it once
        await self.recorder.flush()  # the calls' last changes are written before they count
        calls = await self.deps.store.list_calls(run_id=run_id)
        summary = outcomes.summarize(
            outcomes.CallOutcome(classification=c.classification, status=c.status) for c in calls
        )
        status = outcomes.derive_run_status(end, summary)
        if status in ("completed_with_failures", "failed") and reason is None:
            reason = summary.describe()
        if end != "stopped":
            stopped_by = None
        elif actor is not None:
            stopped_by = actor.username
        await self.deps.store.set_run_status(run_id, status, reason)
        if end == "failed":
            message = reason or "the run failed"
            self.recorder.emit(
                conversation_id, ev.ErrorEvent(run_id=run_id, code=error_code, message=message)
            )
        self.recorder.emit(
            conversation_id,
            ev.RunFinished(
                run_id=run_id, status=status, reason=reason, summary=summary, stopped_by=stopped_by
            ),
        )
        # What the person was told is part of what happened (replay shows it).
        told = history.cap_text(answer, _AUDIT_ANSWER_CHARS) if answer is not None else None
        self.recorder.audit(
            audit.RunFinished(
                status=status, reason=reason, summary=summary, stopped_by=stopped_by, answer=told
            ),
            conversation_id=conversation_id,
            run_id=run_id,
            **({"actor_id": actor.id, "actor_name": actor.username} if actor else {}),
        )
        await self.recorder.flush()  # ended: the run's records are all written


_AUDIT_ANSWER_CHARS = 20_000


def _pending(state: RunState) -> list[CheckpointedCall]:
    return [load_call(CheckpointedCall, raw) for raw in state.get("pending", [])]


@dataclass
class _NewItem:
    """One call of a new approval request (satisfies `store.protocol.NewApprovalItem`)."""

    call_id: str
    preview: str | None
    preview_state: ev.PreviewOutcome
    command: str | None
