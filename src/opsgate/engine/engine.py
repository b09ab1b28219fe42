"""The engine's public face: start runs, decide approvals, stop, recover, expire.

Created once per process by the API's lifespan (or the CLI, or tests) with `EngineDeps` and a
checkpoint saver (`graph.open_checkpointer`). Runs execute as background asyncio tasks over the
compiled graph; the API returns a run id at once and clients follow the event stream.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from opsgate.domain import audit_payloads as audit
from opsgate.domain import events as ev
from opsgate.domain import grants, targets
from opsgate.domain.roles import can_approve, can_operate
from opsgate.domain.runs import FINAL_RUN_STATUSES, DecisionKind, DecisionVia
from opsgate.engine import policy, policy_gate, undo
from opsgate.engine.deps import EngineDeps
from opsgate.engine.graph import build_graph
from opsgate.engine.models.base import ModelMessage
from opsgate.engine.policy_source import ActivePolicy
from opsgate.engine.recorder import audit_record
from opsgate.engine.state import GraphState, ProposedCall, RunState
from opsgate.engine.steps import Steps
from opsgate.errors import (
    Conflict,
    DecisionRefused,
    Forbidden,
    InvalidInput,
    NotFound,
    OpsgateError,
    truncate,
)
from opsgate.store.records import (
    ApprovalRequest,
    Conversation,
    NewMessage,
    Run,
    ToolCallRecord,
    User,
)
from opsgate.tools.base import RollbackCall

MAX_REQUEST_CHARS = 20_000

_log = logging.getLogger(__name__)

DURABILITY: Literal["async"] = "async"
"""How checkpoints are written: each step's while the next one runs (LangGraph's default).

A run is only ever resumed from the gate, and LangGraph waits for the pending checkpoint
before `interrupt` hands control back, so a paused run is always on disk. A run cut off
between steps is failed at the next start (`recover`), whatever its last checkpoint says.
The engine's own records do not depend on this: mutations and decisions are written before
the engine moves on (`Recorder.flush`).
"""

INTERRUPTED = "__interrupt__"
"""The key of LangGraph's output when the run stopped at an `interrupt` (the gate)."""

SHUTDOWN_GRACE_S = 10.0
"""How long a clean shutdown waits for running steps to reach a pause."""


class Engine:
    """Plan → approve → execute → verify, one background task per active run."""

    def __init__(self, deps: EngineDeps, checkpointer: BaseCheckpointSaver[str]) -> None:
        self.deps = deps
        self.steps = Steps(deps)
        self.graph = build_graph(self.steps, checkpointer)
        self.recorder = self.steps.recorder
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._resume_lock = asyncio.Lock()

    # -- starting runs ---------------------------------------------------------------------

    async def submit_message(
        self, conversation_id: str, user: User, text: str, *, read_only: bool = False
    ) -> Run:
        """Start a chat run for `text`; returns at once, the run continues in the background.

        `read_only` offers the model only read-only tools (an investigation an alert opened);
        every call it proposes is still classified and gated as in any run.
        """
        text = text.strip()
        if not text or len(text) > MAX_REQUEST_CHARS:
            raise InvalidInput("text", f"must be 1 to {MAX_REQUEST_CHARS} characters")
        conversation = await self.deps.store.get_conversation(conversation_id)
        _require_operator(user, conversation)
        history = await self._history(conversation_id)
        run = await self.deps.store.create_run(
            conversation_id, "chat", user.id, owner_id=self.deps.engine_id
        )
        self.recorder.message(
            NewMessage(conversation_id, "user", text, run_id=run.id, author_id=user.id)
        )
        request = ModelMessage(role="user", content=text).model_dump(mode="json")
        state: RunState = {
            **self._base_state(run, user, conversation),
            "messages": [*history, request],
        }
        if read_only:
            state["read_only"] = True
        await self._announce(run, user, text)
        self._launch(run.id, {"run": state})
        return run

    async def submit_call(
        self,
        conversation_id: str,
        user: User,
        tool: str,
        args: dict[str, Any],
        *,
        client: audit.RequestClient | None = None,
        purpose: str | None = None,
    ) -> Run:
        """Start a direct run of one tool call (no model): same classify/gate/execute/verify.

        `client` names the program that asked on the user's behalf (an MCP client's `name` and
        `version` from `initialize`); it goes into the run's `request` audit event and text, as
        does `purpose` (what the call is for, e.g. the call an undo restores).
        """
        conversation = await self.deps.store.get_conversation(conversation_id)
        _require_operator(user, conversation)
        run = await self.deps.store.create_run(
            conversation_id,
            "direct",
            user.id,
            owner_id=self.deps.engine_id,
            client=(client.name, client.version) if client is not None else None,
        )
        args = policy.with_default_namespace(
            self.deps.tool_specs, tool, args, conversation.namespace
        )
        state: RunState = {
            **self._base_state(run, user, conversation),
            "pending": [
                ProposedCall(
                    call_id=_new_id(), tool=tool, **self.steps.sealer.hold(tool, args)
                ).state()
            ],
        }
        text = f"direct call of {tool!r}"
        if client is not None:
            text += f" from MCP client {client.name!r} {client.version}"
        if purpose is not None:
            text += f": {purpose}"
        await self._announce(run, user, text.rstrip(), client=client)
        self._launch(run.id, {"run": state})
        return run

    async def submit_undo(self, call_id: str, user: User) -> tuple[Run, RollbackCall]:
        """Submit the call restoring `call_id`'s snapshot, in the same conversation, as a
        direct run: it is previewed and waits for approval like any change.

        Raises:
            NotFound: no such call.
            Conflict: the call cannot be undone (the offer's reason says why).
        """
        offer = await undo.offer(self.deps.store, call_id)
        _require_operator(user, await self.deps.store.get_conversation(offer.conversation_id))
        restoring = offer.undo
        if restoring is None:
            raise Conflict(f"call {call_id!r} cannot be undone: {offer.reason}")
        run = await self.submit_call(
            offer.conversation_id,
            user,
            restoring.tool,
            restoring.args,
            purpose=f"undo of call {call_id} ({offer.tool}), snapshot {offer.snapshot_sha256}",
        )
        return run, restoring

    def _base_state(self, run: Run, user: User, conversation: Conversation) -> RunState:
        return {
            "run_id": run.id,
            "conversation_id": run.conversation_id,
            "kind": run.kind,
            "user_id": user.id,
            "user_name": user.username,
            "contexts": list(conversation.contexts),
            "namespace": conversation.namespace,
            "messages": [],
            "pending": [],
            "approval_id": None,
            "executed": [],
            "model_turns": 0,
            "tool_calls": 0,
            "summary": [],
            "answer": None,
            "outcome": None,
            "plan_text": None,
        }

    async def _announce(
        self, run: Run, user: User, text: str, *, client: audit.RequestClient | None = None
    ) -> None:
        self.recorder.emit(
            run.conversation_id,
            ev.RunStarted(
                run_id=run.id,
                conversation_id=run.conversation_id,
                requested_by=user.username,
                text=text,
            ),
        )
        self.recorder.audit(
            audit.Request(text=text, client=client),
            conversation_id=run.conversation_id,
            run_id=run.id,
            actor_id=user.id,
            actor_name=user.username,
        )
        await self.recorder.flush()

    async def _history(self, conversation_id: str) -> list[dict[str, Any]]:
        """Earlier turns of the conversation, as plain text (their tool traffic left out)."""
        messages = await self.deps.store.list_messages(conversation_id, roles=("user", "assistant"))
        return [
            ModelMessage(role=m.role, content=m.text).model_dump(mode="json")
            for m in messages
            if m.role in ("user", "assistant") and m.text
        ]

    # -- background execution --------------------------------------------------------------

    def _launch(self, run_id: str, graph_input: GraphState | Command[Any]) -> None:
        task = asyncio.create_task(self._traced(run_id, graph_input), name=f"run-{run_id}")
        self._tasks[run_id] = task
        # A task cancelled before it ever ran cannot remove itself.
        task.add_done_callback(lambda done: self._forget(run_id, done))

    def _forget(self, run_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(run_id) is task:
            del self._tasks[run_id]

    async def _traced(self, run_id: str, graph_input: GraphState | Command[Any]) -> None:
        """`_drive` in a span (`opsgate.run`): one per stretch this engine drives the run."""
        with self.deps.tracer.span("opsgate.run", {"opsgate.run_id": run_id}):
            await self._drive(run_id, graph_input)

    async def _drive(self, run_id: str, graph_input: GraphState | Command[Any]) -> None:
        config: RunnableConfig = {"configurable": {"thread_id": run_id}}
        try:
            while True:
                output = await self.graph.ainvoke(graph_input, config, durability=DURABILITY)
                if INTERRUPTED not in output:
                    # The graph reached its end (`answer` or `finish` closed the run): no gate
                    # to look at, nothing to release, so no checkpoint or run to read back.
                    self._tasks.pop(run_id, None)
                    return
                async with self._resume_lock:
                    # A decision may have landed while this task was still on its way to the
                    # gate; `_resume` left it to us then, so look before leaving.
                    approval_id = await self._decided_gate(run_id)
                    if approval_id is None:
                        self._tasks.pop(run_id, None)
                        await self._release_if_paused(run_id)
                        return
                graph_input = Command(resume={"approval_id": approval_id})
        except asyncio.CancelledError:
            self._tasks.pop(run_id, None)
            raise
        except Exception as e:
            self._tasks.pop(run_id, None)
            if not isinstance(e, OpsgateError):
                _log.exception("run %s failed unexpectedly", run_id)
            try:
                await self._fail(run_id, e)
            except OpsgateError:
                _log.exception("could not record the failure of run %s", run_id)

    async def _release_if_paused(self, run_id: str) -> None:
        """A run that now waits at the gate (its checkpoint on disk) is driven by nobody: the
        engine that gets its decision resumes it."""
        if (await self.deps.store.get_run(run_id)).status == "awaiting_approval":
            await self.deps.store.release_run(run_id, self.deps.engine_id)

    async def _decided_gate(self, run_id: str) -> str | None:
        """The approval id if the run waits at the gate for a request no longer pending."""
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": run_id}})
        if "gate" not in snapshot.next:
            return None
        approval_id = snapshot.values["run"].get("approval_id")
        if not approval_id:
            return None
        approval = await self.deps.store.get_approval(approval_id)
        return None if approval.status == "pending" else str(approval_id)

    async def _fail(self, run_id: str, error: Exception) -> None:
        run = await self.deps.store.get_run(run_id)
        if isinstance(error, OpsgateError):
            code, message = error.code, truncate(str(error), 500)
        else:
            # Foreign messages may quote values; the stream and audit get only the type.
            code, message = "internal_error", f"internal error ({type(error).__name__})"
        await self.steps.close_run(run_id, run.conversation_id, "failed", message, error_code=code)

    async def run_state(self, run_id: str) -> RunState:
        """The run's state as last checkpointed (what the model saw, the calls of its step)."""
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": run_id}})
        if not snapshot.values:
            raise NotFound(f"no checkpointed state for run {run_id!r}")
        state: RunState = snapshot.values["run"]
        return state

    async def wait_run(self, run_id: str) -> None:
        """Wait until the run's background task (if any) has paused or ended."""
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.shield(task)

    async def wait_idle(self) -> None:
        """Wait until no run of this engine is executing."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def _resume(self, run_id: str) -> None:
        """Continue a run paused at the gate, once, if it is paused there and decided."""
        async with self._resume_lock:
            if run_id in self._tasks:
                return  # its task checks for decisions under this lock before it ends
            approval_id = await self._decided_gate(run_id)
            if approval_id is None:
                return
            claimed = await self.deps.store.claim_run(
                run_id, self.deps.engine_id, now=self.deps.now(), lease_s=self.deps.limits.lease_s
            )
            if claimed:  # else another live engine resumes (or drives) it
                self._launch(run_id, Command(resume={"approval_id": approval_id}))

    # -- approvals -------------------------------------------------------------------------

    async def decide(
        self,
        approval_id: str,
        call_id: str,
        user: User,
        approve: bool,
        reason: str | None,
        *,
        via: DecisionVia | None = None,
    ) -> ApprovalRequest:
        """Record one decision on one call; resume the run when nothing is left pending.

        `via` records a decision given outside opsgate (`elicitation`: the local user's answer
        in the MCP client); every rule here applies to it all the same.
        """
        if user.disabled:
            raise Forbidden(f"user {user.username!r} is disabled and may not decide on approvals")
        request = await self.deps.store.get_approval(approval_id)
        item = next((i for i in request.items if i.call_id == call_id), None)
        if item is None:
            raise NotFound(f"call {call_id!r} is not part of approval {approval_id!r}")
        namespace = item.args.get("namespace")
        namespace = namespace if isinstance(namespace, str) else None
        may, why = grants.why(user.role, user.grants, item.context, namespace, can_approve)
        if not may:
            raise Forbidden(
                f"user {user.username!r} may not decide on a change in "
                f"{grants.scope_text(item.context, namespace)}: {why}"
            )
        if self.deps.limits.require_distinct_approver and user.id == request.proposed_by:
            raise DecisionRefused("the requester of a change may not approve it")
        reason = (reason or "").strip() or None
        if reason is None and (item.destructive or not approve):
            what = "a destructive change" if approve else "a rejection"
            raise DecisionRefused(f"{what} needs a reason")
        override = approve and item.preview_state == "failed"
        if override and reason is None:
            raise DecisionRefused(
                "the dry run of this change failed; approving it anyway needs a reason "
                "(the override is recorded)"
            )
        kind: DecisionKind = "approve" if approve else "reject"
        judgement = policy_gate.judge(
            request, item, user, approve=approve, reason=reason, now=self.deps.now()
        )
        decision = (audit.ApprovalGranted if approve else audit.ApprovalRejected)(
            approval_id=approval_id,
            call_id=call_id,
            reason=reason,
            tool=item.tool,
            context=item.context,
            namespace=namespace,
            call_hash=item.call_hash,
            preview_state=item.preview_state,
            object=targets.call_object(item.tool, item.args),
            preview_sha256=audit.preview_hash(item.preview),
            override=override,
            via=via,
            **policy_gate.decision_fields(item, judgement),
        )
        loud = policy_gate.break_glass_events(request, call_id, user, judgement, reason)
        # The decision and its audit event commit together: a run never resumes on a
        # decision the audit log lacks, whatever happens to this process.
        decided = await self.deps.store.decide(
            approval_id,
            call_id,
            kind,
            user_id=user.id,
            user_name=user.username,
            reason=reason,
            now=self.deps.now(),
            via=via,
            rule_ids=judgement.rule_ids,
            final=judgement.final,
            seen_decisions=len(item.decisions),
            also_audit=loud,
            audit=audit_record(
                decision,
                conversation_id=request.conversation_id,
                run_id=request.run_id,
                call_id=call_id,
                actor_id=user.id,
                actor_name=user.username,
            ),
        )
        self.recorder.emit(
            decided.conversation_id,
            ev.ApprovalDecided(
                run_id=decided.run_id,
                approval_id=approval_id,
                call_id=call_id,
                decision=kind,
                decided_by=user.username,
                reason=reason,
                settled=judgement.final,
                progress=policy_gate.progress(decided, call_id),
            ),
        )
        await self.recorder.flush()
        if decided.status != "pending":
            await self._resume(decided.run_id)
        return decided

    async def active_policy(self) -> ActivePolicy:
        """The approval policy new requests get now (saved version, else file, else built-in)."""
        return await self.steps.policies.active()

    async def expire_due(self) -> list[ApprovalRequest]:
        """Expire overdue approval items (expired means rejected) and resume their runs."""
        expired = await self.deps.store.expire_approvals(self.deps.now())
        await self._report_expired(expired, reason=None)
        for request in expired:
            if request.status != "pending":
                await self._resume(request.run_id)
        return expired

    async def _report_expired(self, requests: list[ApprovalRequest], reason: str | None) -> None:
        for request in requests:
            call_ids = [i.call_id for i in request.items if i.status == "expired"]
            self.recorder.audit(
                audit.ApprovalExpired(approval_id=request.id, call_ids=call_ids, reason=reason),
                conversation_id=request.conversation_id,
                run_id=request.run_id,
            )
            self.recorder.emit(
                request.conversation_id,
                ev.ApprovalExpired(
                    run_id=request.run_id, approval_id=request.id, call_ids=call_ids
                ),
            )
        await self.recorder.flush()

    # -- stop, recovery, shutdown ----------------------------------------------------------

    async def stop(self, run_id: str, user: User) -> Run:
        """Stop a run: a check still waiting is cancelled and no further step runs.

        A change already running is not killed half-way (no tool can undo a half-applied
        change safely); it finishes, stays unverified, and the run ends `stopped`, naming who
        stopped it. A run paused at the gate ends at once and its open approvals expire. A run
        another live replica drives is asked to stop there (`Store.request_stop`); the answer
        is the run as it is now, still running until that replica's next step.
        """
        run = await self.deps.store.get_run(run_id)
        _require_operator(user, await self.deps.store.get_conversation(run.conversation_id))
        if run.status in FINAL_RUN_STATUSES:
            return run
        if run_id in self._tasks:
            self.stop_noticed(run_id, user.username)
            return await self.deps.store.get_run(run_id)
        me, lease = self.deps.engine_id, self.deps.limits.lease_s
        if not await self.deps.store.claim_run(run_id, me, now=self.deps.now(), lease_s=lease):
            # Another live replica drives it: it stops there at its next step.
            await self.deps.store.request_stop(run_id, user.username)
            return await self.deps.store.get_run(run_id)
        # Paused at the gate (or orphaned), now held here: nothing is executing, so end it
        # here. Nobody should be asked to approve a change of a run that has ended.
        closed = await self.deps.store.expire_approvals(self.deps.now(), run_id=run_id)
        await self._report_expired(closed, reason=f"the run was stopped by {user.username}")
        await self.steps.close_run(
            run_id, run.conversation_id, "stopped", f"stopped by {user.username}", actor=user
        )
        return await self.deps.store.get_run(run_id)

    def stop_noticed(self, run_id: str, user_name: str) -> None:
        """Stop a run this engine drives at its next step (a check still waiting is cancelled);
        also what another replica's `stop` reaches through `Store.request_stop`."""
        if run_id not in self._tasks:
            return
        self.steps.stop_requested[run_id] = user_name
        check = self.steps.calls.checking.get(run_id)
        if check is not None:
            check.cancel()

    async def recover(self) -> None:
        """At start-up: take up what this engine (or a dead one) left behind, then expire.

        - A run paused at the gate stays paused; if its request was decided just before the
          stop, it continues now.
        - A run a gone engine was driving is taken over: calls cut off while they ran become
          `outcome_unknown` (never re-run), and the run fails; so does a run cut off between
          steps (or between opening its approval request and pausing), and the pending items
          of its requests expire, so nobody approves a change that would never run.
        - A run another live engine drives is left alone (`Store.orphaned_runs`).
        """
        await self._settle_orphans(startup=True)

    async def sweep(self) -> None:
        """Every few seconds (the API's ticker): renew this engine's lease, settle the runs of
        engines whose lease ran out, and expire overdue approvals."""
        await self._settle_orphans(startup=False)

    async def _settle_orphans(self, *, startup: bool) -> None:
        me, lease = self.deps.engine_id, self.deps.limits.lease_s
        await self.deps.store.renew_lease(me, self.deps.now())
        orphans = await self.deps.store.orphaned_runs(me, now=self.deps.now(), lease_s=lease)
        for run in orphans:
            if run.id in self._tasks:
                continue  # this engine drives it now
            if not startup and run.owner_id == me:
                # Ours and running in this process: between `create_run` and its task's start,
                # or driven right now; only a start-up settles what an earlier process left.
                continue
            if run.owner_id is None and run.status == "awaiting_approval":
                # Paused at the gate, owned by nobody: a decision resumes it where it lands.
                if startup:
                    await self._resume(run.id)
                continue
            if not await self.deps.store.claim_run(run.id, me, now=self.deps.now(), lease_s=lease):
                continue  # another engine took it over first
            if await self._paused_at_gate(run.id):
                await self.deps.store.release_run(run.id, me)
                await self._resume(run.id)
                continue
            await self._report_outcome_unknown(
                await self.deps.store.mark_interrupted_calls([run.id])
            )
            cut = await self.deps.store.expire_approvals(self.deps.now(), run_id=run.id)
            await self._report_expired(cut, reason="the run was cut off by a restart")
            await self._fail(run.id, _Interrupted("interrupted by a restart; check the cluster"))
        await self.expire_due()

    async def _report_outcome_unknown(self, interrupted: list[ToolCallRecord]) -> None:
        for call in interrupted:
            self.recorder.audit(
                audit.ToolOutcomeUnknown(
                    tool=call.tool,
                    args=call.args,
                    context=call.context,
                    reason="the process stopped while the call ran; it is never re-run",
                ),
                conversation_id=call.conversation_id,
                run_id=call.run_id,
                call_id=call.id,
            )
            self.recorder.emit(
                call.conversation_id,
                ev.ToolFinished(
                    run_id=call.run_id,
                    call_id=call.id,
                    tool=call.tool,
                    status="outcome_unknown",
                    output="the process stopped while this call ran; its outcome is unknown",
                ),
            )
        await self.recorder.flush()

    async def _paused_at_gate(self, run_id: str) -> bool:
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": run_id}})
        return "gate" in snapshot.next

    async def aclose(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Let running tasks reach their next pause, then cancel what is left.

        A run cancelled mid-step loses that step's checkpoint: one cancelled right after
        opening its approval request could never be resumed. So a clean shutdown first gives
        runs `grace_s` to pause at the gate or end; what still runs after that is cancelled,
        and its calls are recovered at the next start (`outcome_unknown`, never re-run).
        """
        tasks = list(self._tasks.values())
        if tasks:
            _, still_running = await asyncio.wait(tasks, timeout=grace_s)
            for task in still_running:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.recorder.flush()
        # What this engine still owns was cut off: any engine may take it over now.
        await self.deps.store.release_lease(self.deps.engine_id)


class _Interrupted(OpsgateError):
    code = "interrupted"


def _require_operator(user: User, conversation: Conversation) -> None:
    """Asking in a conversation takes an operator role in every one of its contexts."""
    if user.disabled:
        raise Forbidden(f"user {user.username!r} is disabled and may not start runs")
    role = grants.role_for_all(
        user.role, user.grants, conversation.contexts, conversation.namespace
    )
    if not can_operate(role):
        where = ", ".join(
            grants.scope_text(c, conversation.namespace) for c in conversation.contexts
        )
        raise Forbidden(
            f"user {user.username!r} may not start runs in this conversation: "
            f"they are {role} in {where or 'no context'}"
        )


def _new_id() -> str:
    return str(uuid.uuid4())
