"""Standalone-mode confirmation: ask the MCP client's user before a mutation runs.

Used by `opsgate.mcp.server` only when no approval key is configured (another MCP client
drives opsgate directly). The call runs only if the user explicitly accepts; a decline, a
cancel, or a client that cannot elicit all refuse it.

Two protocol eras are handled: on 2026-07-28 connections the tool answers with an
`InputRequiredResult` and reads the answer when the client retries (SEP-2322); on older
connections it sends a server-initiated `elicitation/create` request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import mcp_types
from fastmcp.server.context import Context
from fastmcp.server.elicitation import AcceptedElicitation
from fastmcp.tools.base import InputRequiredToolResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from opsgate.domain.canonical import call_hash, canonical_json
from opsgate.errors import truncate

CONFIRM_KEY = "opsgate_confirm"
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"confirm": {"type": "boolean", "title": "Run this change"}},
    "required": ["confirm"],
}


@dataclass(frozen=True)
class Decision:
    """Where the confirmation stands for one call."""

    state: Literal["accepted", "refused", "asking"]
    reason: str = ""
    ask: InputRequiredToolResult | None = None
    """On `asking`: the result to return so the client asks its user and retries."""


def prompt(tool: str, args: Mapping[str, Any]) -> str:
    return (
        f"opsgate wants to run {tool!r}, which changes state, with arguments "
        f"{truncate(canonical_json(dict(args)), 1500)}. Run it?"
    )


async def confirm(ctx: Context, tool: str, args: Mapping[str, Any]) -> Decision:
    """Ask (or read the answer to) the confirmation for this exact call."""
    binding = call_hash(tool, args, None)
    request_context = ctx.request_context
    modern = (
        request_context is not None and request_context.protocol_version in MODERN_PROTOCOL_VERSIONS
    )
    if modern:
        return _modern(ctx, tool, args, binding)
    return await _legacy(ctx, tool, args)


def _modern(ctx: Context, tool: str, args: Mapping[str, Any], binding: str) -> Decision:
    responses = ctx.input_responses
    if not responses:
        request = mcp_types.ElicitRequest(
            params=mcp_types.ElicitRequestFormParams(
                message=prompt(tool, args), requested_schema=_SCHEMA
            )
        )
        asked = mcp_types.InputRequiredResult(
            input_requests={CONFIRM_KEY: request}, request_state=binding
        )
        return Decision("asking", ask=InputRequiredToolResult(asked))
    # The request state is sealed by FastMCP; it must name this very call, so an answer
    # given for other arguments cannot be carried over to these.
    if ctx.request_state != binding:
        return Decision("refused", "the confirmation was given for a different call")
    answer = responses.get(CONFIRM_KEY)
    if not isinstance(answer, mcp_types.ElicitResult):
        return Decision("refused", "no confirmation was given")
    return _judge(answer.action, (answer.content or {}).get("confirm"))


async def _legacy(ctx: Context, tool: str, args: Mapping[str, Any]) -> Decision:
    try:
        answer = await ctx.elicit(prompt(tool, args), bool, response_title="Run this change")
    except Exception as e:  # any failure to ask means no confirmation
        return Decision("refused", f"the client could not confirm: {truncate(str(e), 200)}")
    if isinstance(answer, AcceptedElicitation):
        return _judge("accept", answer.data)
    return _judge(answer.action, None)


def _judge(action: str, confirmed: object) -> Decision:
    if action == "accept" and confirmed is True:
        return Decision("accepted")
    if action == "accept":
        return Decision("refused", "the user did not confirm the change")
    return Decision("refused", f"the user chose {action!r}")
