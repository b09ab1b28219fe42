"""The gateway's lower-assurance mode: the one local user confirms a change in the MCP client.

Used by `front` when `settings.mcp_confirm` is `elicit` (which `serve.open_gateway` allows only
on stdio, for a single enabled user who may approve, with the distinct-approver rule off) and
the client declared elicitation. The call takes the usual path first: its approval request is
opened (same store, policy, preview, audit and Command Center card) and its run pauses at the
gate. Then the user is asked, shown what the card shows, and the answer becomes that user's
decision through `Engine.decide` with `via="elicitation"`, so the card, the CLI and the audit
event say how it was given; every rule of a decision applies (role, reasons, expiry, once).
A dismissed question decides nothing: the call waits for a decision in opsgate, as every call
does while more than one enabled user exists (checked again at each call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from fastmcp import Context
from fastmcp.tools.base import InputRequiredToolResult

from opsgate.api.gateway.calls import CallOutcome, ClientInfo, Gateway, Report, hide_paths
from opsgate.domain.canonical import canonical_json
from opsgate.domain.runs import DecisionVia
from opsgate.errors import Forbidden, NotFound, OpsgateError, truncate
from opsgate.mcp import confirm
from opsgate.store.protocol import Store
from opsgate.store.records import ApprovalRequest, Run, User

PROMPT_CHARS = 4_000
VIA: DecisionVia = "elicitation"


class DecidingEngine(Protocol):
    """What elicitation needs of `opsgate.engine.Engine`."""

    async def decide(
        self,
        approval_id: str,
        call_id: str,
        user: User,
        approve: bool,
        reason: str | None,
        *,
        via: DecisionVia | None = None,
    ) -> ApprovalRequest: ...


async def single_user_refusal(store: Store) -> str | None:
    """Why elicitation may not decide now (more than one enabled user), else None."""
    enabled = [user for user in await store.list_users() if not user.disabled]
    if len(enabled) == 1:
        return None
    return (
        f"confirmation by elicitation is for one person on their own machine, and "
        f"{len(enabled)} users are enabled"
    )


@dataclass
class Elicitation:
    """Asks the local user about each change of theirs and records the answer as a decision."""

    gateway: Gateway
    engine: DecidingEngine
    store: Store

    async def call(
        self,
        ctx: Context,
        user: User,
        client: ClientInfo,
        tool: str,
        args: dict[str, Any],
        report: Report,
    ) -> CallOutcome | InputRequiredToolResult:
        """The call's outcome, or (2026-07-28) the question the client answers and retries."""
        retry = confirm.answered(ctx)
        if retry is not None:
            state, answer = retry
            approval_id, _, call_id = state.partition(" ")
            run, tool = await self._own_run(user, approval_id, call_id)
            return await self._settle(user, approval_id, call_id, run, tool, answer, report)
        run = await self.gateway.start(user, client, tool, args)
        call = await self.gateway.awaiting(run)
        if call is None or call.approval_id is None:
            return await self.gateway.follow(run, tool, report)
        refusal = await single_user_refusal(self.store)
        if refusal is not None:
            await report(f"{refusal}; approval {call.approval_id} waits for a decision in opsgate")
            return await self.gateway.follow(run, tool, report)
        approval = await self.store.get_approval(call.approval_id)
        asked = await confirm.ask(
            ctx, self.prompt(approval, call.id, client), state=f"{approval.id} {call.id}"
        )
        if isinstance(asked, InputRequiredToolResult):
            return asked
        return await self._settle(user, approval.id, call.id, run, tool, asked, report)

    async def _own_run(self, user: User, approval_id: str, call_id: str) -> tuple[Run, str]:
        """The run and tool of the approval a retried answer is about, if it is `user`'s."""
        try:
            approval = await self.store.get_approval(approval_id)
        except NotFound as e:
            raise NotFound(f"the answered approval {approval_id!r} does not exist") from e
        if approval.proposed_by != user.id:
            raise Forbidden(f"approval {approval_id!r} was not requested by {user.username!r}")
        item = next((i for i in approval.items if i.call_id == call_id), None)
        if item is None:
            raise NotFound(f"call {call_id!r} is not part of approval {approval_id!r}")
        return await self.store.get_run(approval.run_id), item.tool

    async def _settle(
        self,
        user: User,
        approval_id: str,
        call_id: str,
        run: Run,
        tool: str,
        answer: confirm.Answer,
        report: Report,
    ) -> CallOutcome:
        refusal = await single_user_refusal(self.store)
        if answer.state == "dismissed" or refusal is not None:
            why = refusal or f"no answer in the client ({answer.detail})"
            await report(f"{why}; approval {approval_id} waits for a decision in opsgate")
            return await self.gateway.follow(run, tool, report)
        approve = answer.state == "accepted"
        reason = (
            f"{'confirmed' if approve else 'declined'} by {user.username} in the MCP client "
            "(elicitation, lower assurance)"
        )
        try:
            await self.engine.decide(approval_id, call_id, user, approve, reason, via=VIA)
        except OpsgateError as e:
            await report(f"the answer was not recorded as a decision: {e}")
        return await self.gateway.follow(run, tool, report)

    def prompt(self, approval: ApprovalRequest, call_id: str, client: ClientInfo) -> str:
        """What the card shows of the call, and what answering here means."""
        item = next(i for i in approval.items if i.call_id == call_id)
        lines = [
            f"{'DESTRUCTIVE ' if item.destructive else ''}change {item.tool!r} asked by "
            f"{client.name} {client.version}".rstrip(),
            f"context {item.context or '(default)'} · cluster {item.cluster or '(not resolved)'}",
            f"command: {item.command or '(not given)'}",
            f"arguments: {truncate(canonical_json(item.args), 1500)}",
            f"dry run: {item.preview_state}",
        ]
        if item.preview:
            lines.append(truncate(item.preview, 1500))
        lines.append(
            f"Approve it? Your answer is recorded as your decision on approval {approval.id} "
            f"(expires {approval.expires_at:%Y-%m-%d %H:%M:%S} UTC), marked 'via elicitation': "
            "lower assurance than a decision in the Command Center."
        )
        return hide_paths(truncate("\n".join(lines), PROMPT_CHARS), self.gateway.hidden_paths)
