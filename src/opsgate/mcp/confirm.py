"""Asking an MCP client's user to confirm one change, through elicitation.

Used by the gateway (`opsgate.api.gateway.elicit`) in its lower-assurance mode
(`OPSGATE_MCP_CONFIRM=elicit`), where the answer becomes the local user's decision on an
approval request that is already open. This module only asks and reads the answer; deciding
is the engine's (`Engine.decide`, with the same rules as any approval).

Two protocol eras are handled: on 2026-07-28 connections the tool answers with an
`InputRequiredResult` and reads the answer when the client retries the call (SEP-2322; the
request state, sealed by FastMCP, names the approval); on older connections it sends a
server-initiated `elicitation/create` request and waits for the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import mcp_types
from fastmcp.server.context import Context
from fastmcp.server.elicitation import AcceptedElicitation
from fastmcp.tools.base import InputRequiredToolResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from opsgate.errors import truncate

CONFIRM_KEY = "opsgate_confirm"
_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Approve this change"}},
    "required": ["confirm"],
}


@dataclass(frozen=True)
class Answer:
    """What the client's user said."""

    state: Literal["accepted", "declined", "dismissed"]
    """`accepted`: confirmed; `declined`: said no; `dismissed`: gave no answer (cancelled,
    or the client could not ask), so nothing is decided."""
    detail: str


def can_elicit(ctx: Context) -> bool:
    """Whether the client declared the elicitation capability (on this request or session)."""
    try:
        capabilities = ctx.session.client_capabilities
    except RuntimeError:
        return False
    return capabilities is not None and capabilities.elicitation is not None


def _modern(ctx: Context) -> bool:
    request_context = ctx.request_context
    return (
        request_context is not None and request_context.protocol_version in MODERN_PROTOCOL_VERSIONS
    )


def answered(ctx: Context) -> tuple[str, Answer] | None:
    """On a 2026-07-28 retry, the sealed state given with the question and the answer;
    None on a first round (nothing was asked yet)."""
    if not _modern(ctx) or ctx.request_state is None:
        return None
    state = ctx.request_state
    responses = ctx.input_responses or {}
    answer = responses.get(CONFIRM_KEY)
    if not isinstance(answer, mcp_types.ElicitResult):
        return state, Answer("dismissed", "the client retried without an answer")
    return state, _judge(answer.action, (answer.content or {}).get("confirm"))


async def ask(ctx: Context, prompt: str, state: str) -> Answer | InputRequiredToolResult:
    """Ask the user: on 2026-07-28 the result to return (the client asks and retries with the
    answer and `state`); on older connections the answer itself."""
    if _modern(ctx):
        request = mcp_types.ElicitRequest(
            params=mcp_types.ElicitRequestFormParams(message=prompt, requested_schema=_SCHEMA)
        )
        asked = mcp_types.InputRequiredResult(
            input_requests={CONFIRM_KEY: request}, request_state=state
        )
        return InputRequiredToolResult(asked)
    try:
        answer = await ctx.elicit(prompt, bool, response_title="Approve this change")
    except Exception as e:  # any failure to ask leaves the decision to an approver
        return Answer("dismissed", f"the client could not ask: {truncate(str(e), 200)}")
    if isinstance(answer, AcceptedElicitation):
        return _judge("accept", answer.data)
    return _judge(answer.action, None)


def _judge(action: str, confirmed: object) -> Answer:
    if action == "accept" and confirmed is True:
        return Answer("accepted", "confirmed")
    if action in ("accept", "decline"):
        return Answer("declined", "declined")
    return Answer("dismissed", f"the user chose {action!r}")
