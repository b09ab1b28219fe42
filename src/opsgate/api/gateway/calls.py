"""One MCP client's tool call as an engine direct run, followed until it has an outcome.

Called by `front` for every tool call an outside MCP client makes. The call goes through
`Engine.submit_call`, the path of the Command Center's tool palette: nothing here gates,
previews or executes. A read comes back as soon as the run ends; a mutation pauses at the
gate, and this waits (telling the client the approval id and where to decide, then a
heartbeat) while a person decides through the API, in this process or another one on the same
database. The outcome is read back from the store and the audit log, so it is what happened,
whichever engine resumed the run. A client that goes away leaves the run and its approval
request open; their outcome is in the audit log and the Command Center.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from opsgate.domain.audit_payloads import RequestClient
from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.errors import truncate
from opsgate.store.protocol import Store
from opsgate.store.records import AuditFilter, Conversation, Run, ToolCallRecord, User

Report = Callable[[str], Awaitable[None]]
"""Sends one progress message to the calling client."""

Outcome = Literal[
    "verified",
    "not_verified",
    "verification_failed",
    "succeeded",
    "failed",
    "rejected",
    "expired",
    "stopped",
    "invalid",
    "refused",
    "outcome_unknown",
    "pending",
]
"""What became of the call; `pending`: the wait ended before a decision (the request is open)."""

RAN: frozenset[Outcome] = frozenset({"verified", "not_verified", "succeeded"})
"""Outcomes of a call that ran and did not fail (`not_verified`: nothing proved the intent)."""

_CALL_OUTCOMES: Mapping[str, Outcome] = {
    "verified": "verified",
    "not_verified": "not_verified",
    "verification_failed": "verification_failed",
    "succeeded": "succeeded",
    "failed": "failed",
    "rejected": "rejected",
    "expired": "expired",
    "invalid": "invalid",
    "refused": "refused",
    "outcome_unknown": "outcome_unknown",
}

OUTPUT_CHARS = 12_000
MESSAGE_CHARS = 2_000
TITLE_PREFIX = "MCP client "


@dataclass(frozen=True)
class ClientInfo:
    """The calling program as it named itself in `initialize` (`clientInfo`)."""

    name: str = "unknown"
    version: str = ""

    def as_audit(self) -> RequestClient:
        return RequestClient(name=self.name, version=self.version)


class GatewayEngine(Protocol):
    """What the gateway needs of `opsgate.engine.Engine`."""

    async def submit_call(
        self,
        conversation_id: str,
        user: User,
        tool: str,
        args: dict[str, Any],
        *,
        client: RequestClient | None = None,
    ) -> Run: ...

    async def wait_run(self, run_id: str) -> None: ...


class Verification(BaseModel):
    """What the change's check found (the `verify` audit event)."""

    model_config = ConfigDict(frozen=True)

    verdict: str
    summary: str


class CallOutcome(BaseModel):
    """A client's call as it ended (or still waits); the structured result of the tool call.

    Fields that do not apply are left out on the wire (`structured`), never sent as null.
    """

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    message: str
    """One line saying exactly what happened, with the reason."""
    tool: str
    run_id: str
    conversation_id: str
    link: str
    """Where the run (and its approval card) is in the Command Center."""
    call_id: str | None = None
    approval_id: str | None = None
    decided_by: str | None = None
    reason: str | None = None
    output: str | None = None
    exit_code: int | None = None
    verification: Verification | None = None

    @property
    def is_error(self) -> bool:
        return self.outcome not in RAN

    def structured(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def text(self) -> str:
        return self.message if not self.output else f"{self.message}\n\n{self.output}"


OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "outcome": {"type": "string", "enum": list(Outcome.__args__)},  # type: ignore[attr-defined]
        "message": {"type": "string"},
        "tool": {"type": "string"},
        "run_id": {"type": "string"},
        "conversation_id": {"type": "string"},
        "link": {"type": "string"},
        "call_id": {"type": "string"},
        "approval_id": {"type": "string"},
        "decided_by": {"type": "string"},
        "reason": {"type": "string"},
        "output": {"type": "string"},
        "exit_code": {"type": "integer"},
        "verification": {
            "type": "object",
            "properties": {"verdict": {"type": "string"}, "summary": {"type": "string"}},
            "required": ["verdict", "summary"],
        },
    },
    "required": ["outcome", "message", "tool", "run_id", "conversation_id", "link"],
}
"""The gateway's output schema: every property has one type (no nullable unions)."""


@dataclass
class Gateway:
    """Runs clients' calls through the engine and waits for what became of them."""

    store: Store
    engine: GatewayEngine
    contexts: Sequence[str]
    """Contexts a client's conversation may use, the default first (from settings)."""
    public_url: str
    """Base URL of the Command Center, for links."""
    wait_s: float
    """How long one call waits for its outcome before answering `pending`."""
    hidden_paths: Sequence[str] = ()
    """Local paths (binaries, kubeconfig, data dir) never shown to a client."""
    poll_s: float = 0.25
    heartbeat_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _conversations: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def call(
        self, user: User, client: ClientInfo, tool: str, args: dict[str, Any], report: Report
    ) -> CallOutcome:
        """Submit `tool(args)` as `user` on behalf of `client`; its outcome once known."""
        return await self.follow(await self.start(user, client, tool, args), tool, report)

    async def start(self, user: User, client: ClientInfo, tool: str, args: dict[str, Any]) -> Run:
        """Submit `tool(args)` as `user` on behalf of `client`; the run once it has ended (a
        read) or paused at the gate (a change)."""
        conversation = await self.conversation_for(user, client)
        run = await self.engine.submit_call(
            conversation.id, user, tool, args, client=client.as_audit()
        )
        await self.engine.wait_run(run.id)
        return await self.store.get_run(run.id)

    async def awaiting(self, run: Run) -> ToolCallRecord | None:
        """The run's call while it waits for its approval, else None."""
        call = await self.call_of(run.id)
        if call is None or call.status != "awaiting_approval" or call.approval_id is None:
            return None
        return call

    async def conversation_for(self, user: User, client: ClientInfo) -> Conversation:
        """The conversation of this user and client program, created on its first call."""
        title = f"{TITLE_PREFIX}{client.name}"
        key = (user.id, title)
        async with self._lock:
            known = self._conversations.get(key)
            if known is not None:
                return await self.store.get_conversation(known)
            found = [
                c
                for c in await self.store.list_conversations(query=title, limit=200)
                if c.title == title and c.owner_id == user.id
            ]
            conversation = found[0] if found else None
            if conversation is None:
                conversation = await self.store.create_conversation(
                    title, user.id, list(self.contexts)
                )
            self._conversations[key] = conversation.id
            return conversation

    def link(self, conversation_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/#/c/{conversation_id}"

    async def follow(self, run: Run, tool: str, report: Report) -> CallOutcome:
        """Wait for `run`'s outcome (or `wait_s`), telling the client where it stands."""
        await self.engine.wait_run(run.id)  # a read ends here; a change pauses at the gate
        deadline = self.clock() + self.wait_s
        announced: str | None = None
        last_report = self.clock()
        while True:
            current = await self.store.get_run(run.id)
            if current.status in FINAL_RUN_STATUSES:
                return await self.outcome(current, tool)
            call = await self.call_of(run.id)
            approval_id = call.approval_id if call is not None else None
            now = self.clock()
            if approval_id is not None and approval_id != announced:
                announced = approval_id
                await report(await self.standing(current, tool, call))
                last_report = now
            elif now - last_report >= self.heartbeat_s:
                what = f"approval {announced}" if current.status == "awaiting_approval" else "it"
                await report(f"{tool!r} is {current.status.replace('_', ' ')}; waiting for {what}")
                last_report = now
            if now >= deadline:
                return self._pending(current, tool, call)
            await asyncio.sleep(self.poll_s)

    async def standing(self, run: Run, tool: str, call: ToolCallRecord | None) -> str:
        """Where an unfinished call stands, in one line (the approval to decide, and where)."""
        if call is None:
            return f"{tool!r} is {run.status.replace('_', ' ')}"
        if call.approval_id is None or call.status != "awaiting_approval":
            approval = f" (approval {call.approval_id})" if call.approval_id else ""
            return f"{tool!r} is {call.status.replace('_', ' ')}{approval}"
        request = await self.store.get_approval(call.approval_id)
        return (
            f"waiting for approval {request.id} of {tool!r} (expires "
            f"{request.expires_at:%Y-%m-%d %H:%M:%S} UTC); decide in the Command "
            f"Center: {self.link(run.conversation_id)}"
        )

    async def call_of(self, run_id: str) -> ToolCallRecord | None:
        calls = await self.store.list_calls(run_id=run_id)
        return calls[0] if calls else None

    def _pending(self, run: Run, tool: str, call: ToolCallRecord | None) -> CallOutcome:
        approval = call.approval_id if call is not None else None
        waiting = f"approval {approval}" if approval else "its run"
        return CallOutcome(
            outcome="pending",
            message=(
                f"{tool!r} is still {run.status.replace('_', ' ')} after {self.wait_s:.0f} s; "
                f"{waiting} stays open and its outcome will be in the audit log and at "
                f"{self.link(run.conversation_id)}"
            ),
            tool=tool,
            run_id=run.id,
            conversation_id=run.conversation_id,
            link=self.link(run.conversation_id),
            call_id=call.id if call is not None else None,
            approval_id=approval,
        )

    async def outcome(self, run: Run, tool: str) -> CallOutcome:
        call = await self.call_of(run.id)
        events = await self.store.list_audit(AuditFilter(run_id=run.id), limit=500)
        link = self.link(run.conversation_id)
        if call is None:
            return CallOutcome(
                outcome="stopped" if run.status == "stopped" else "failed",
                message=self._hide(f"{tool!r} was not run: {run.reason or run.status}"),
                tool=tool,
                run_id=run.id,
                conversation_id=run.conversation_id,
                link=link,
            )
        outcome: Outcome = _CALL_OUTCOMES.get(
            call.status, "stopped" if run.status == "stopped" else "failed"
        )
        decided_by = reason = None
        verification: Verification | None = None
        for event in events:
            if event.call_id != call.id and event.kind != "approval.expired":
                continue
            if event.kind in ("approval.granted", "approval.rejected"):
                decided_by, reason = event.actor_name, event.payload.get("reason")
            elif event.kind == "approval.expired":
                reason = event.payload.get("reason") or reason
            elif event.kind == "verify":
                verification = Verification(
                    verdict=str(event.payload.get("verdict", "")),
                    summary=self._hide(str(event.payload.get("summary", ""))),
                )
        message = _describe(outcome, tool, run, call, decided_by, reason, verification)
        return CallOutcome(
            outcome=outcome,
            message=self._hide(truncate(message, MESSAGE_CHARS)),
            tool=tool,
            run_id=run.id,
            conversation_id=run.conversation_id,
            link=link,
            call_id=call.id,
            approval_id=call.approval_id,
            decided_by=decided_by,
            reason=self._hide(reason) if isinstance(reason, str) else None,
            output=self._hide(truncate(call.output, OUTPUT_CHARS)) if call.output else None,
            exit_code=call.exit_code,
            verification=verification,
        )

    def _hide(self, text: str) -> str:
        return hide_paths(text, self.hidden_paths)


def hide_paths(text: str, paths: Sequence[str]) -> str:
    """`text` with each of `paths` cut to its last part (`/opt/bin/kubectl` -> `kubectl`, and
    `/srv/data/x.log` -> `x.log` for a hidden `/srv/data`): a client learns nothing of where
    things are on this machine."""
    for path in sorted((p.rstrip("/") for p in paths), key=len, reverse=True):
        if path:
            text = text.replace(f"{path}/", "").replace(path, path.rsplit("/", 1)[-1])
    return text


def _describe(
    outcome: Outcome,
    tool: str,
    run: Run,
    call: ToolCallRecord,
    decided_by: str | None,
    reason: object,
    verification: Verification | None,
) -> str:
    approved = f" (approved by {decided_by})" if decided_by else ""
    checked = f": {verification.summary}" if verification is not None else ""
    why = f": {reason}" if reason else ""
    match outcome:
        case "verified":
            return f"{tool!r} ran{approved} and was verified{checked}"
        case "not_verified":
            return f"{tool!r} ran{approved} but nothing verified it{checked}"
        case "verification_failed":
            return f"{tool!r} ran{approved} but its verification failed{checked}"
        case "succeeded":
            return f"{tool!r} ran"
        case "rejected":
            return f"{tool!r} was not run: rejected by {decided_by or 'an approver'}{why}"
        case "expired":
            return f"{tool!r} was not run: approval {call.approval_id} expired undecided{why}"
        case "outcome_unknown":
            return f"{tool!r} was cut off while it ran; its outcome is unknown (check the cluster)"
        case "failed" if call.status == "failed":
            return f"{tool!r} ran{approved} and failed (exit code {call.exit_code})"
        case _:
            return f"{tool!r} was not run ({call.status.replace('_', ' ')}): {run.reason or ''}"
