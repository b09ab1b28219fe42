"""The gateway's MCP server: the engine's tools, each call handed to `calls.Gateway`.

Built by `gateway.serve` from the tools the engine knows (`EngineDeps.tool_specs`, the tool
server's listing without its internal recipe tools): the same names, descriptions, input
schemas and annotations, with the gateway's own output schema (`calls.OUTPUT_SCHEMA`). It
reports opsgate's name and version. Who is calling comes from `identify` (the configured user
on stdio, the bearer token's user over HTTP); which program, from `initialize`. With
`elicitation` (the lower-assurance mode), a client that can elicit is asked to confirm each
change (`elicit.Elicitation`); any other client waits for a decision in opsgate.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import mcp_types
from fastmcp import Context, FastMCP
from fastmcp.server.dependencies import get_context
from fastmcp.tools.base import InputRequiredToolResult, ToolResult
from fastmcp.tools.base import Tool as McpTool
from pydantic import PrivateAttr

import opsgate
from opsgate.api.gateway.calls import OUTPUT_SCHEMA, CallOutcome, ClientInfo, Gateway
from opsgate.api.gateway.elicit import Elicitation
from opsgate.domain.calls import ToolSpec
from opsgate.errors import OpsgateError, truncate
from opsgate.mcp import confirm
from opsgate.store.records import User

Identify = Callable[[], Awaitable[User]]
"""The user of the current request (raises `Unauthenticated` when there is none)."""

PROGRESS_CHARS = 500
INSTRUCTIONS = (
    "Kubernetes and CI/CD tools. Reads answer at once. Every change waits until a person "
    "approves that exact call in the opsgate Command Center; the call then returns what "
    "happened (verified, rejected, expired, failed). Progress messages name the approval."
)


class _GatewayTool(McpTool):
    """One engine tool; its calls go to the gateway as the request's user."""

    _gateway: Gateway = PrivateAttr()
    _identify: Identify = PrivateAttr()
    _elicitation: Elicitation | None = PrivateAttr(default=None)

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        ctx = get_context()
        try:
            user = await self._identify()
            outcome: CallOutcome | InputRequiredToolResult
            if self._elicitation is not None and confirm.can_elicit(ctx):
                outcome = await self._elicitation.call(
                    ctx, user, client_of(ctx), self.name, dict(arguments), reporter(ctx)
                )
            else:
                outcome = await self._gateway.call(
                    user, client_of(ctx), self.name, dict(arguments), reporter(ctx)
                )
        except OpsgateError as e:
            return refusal(e)
        if isinstance(outcome, InputRequiredToolResult):
            return outcome
        return tool_result(outcome)


def client_of(ctx: Context) -> ClientInfo:
    """The calling program's name and version as `initialize` (or the request) gave them."""
    try:
        params = ctx.session.client_params
    except RuntimeError:
        params = None
    if params is None:
        return ClientInfo()
    info = params.client_info
    return ClientInfo(name=truncate(info.name, 100), version=truncate(info.version or "", 50))


def reporter(ctx: Context) -> Callable[[str], Awaitable[None]]:
    counter = itertools.count(1)

    async def report(text: str) -> None:
        await ctx.report_progress(next(counter), None, truncate(text, PROGRESS_CHARS))

    return report


def tool_result(outcome: CallOutcome) -> ToolResult:
    return ToolResult(
        content=[mcp_types.TextContent(type="text", text=outcome.text())],
        structured_content=outcome.structured(),
        is_error=outcome.is_error,
    )


def refusal(error: OpsgateError) -> ToolResult:
    """A call the gateway could not even start (who is calling, or what they may do)."""
    return ToolResult(
        content=[mcp_types.TextContent(type="text", text=f"not run: {error}")],
        is_error=True,
    )


def create_front(
    specs: Mapping[str, ToolSpec],
    gateway: Gateway,
    identify: Identify,
    elicitation: Elicitation | None = None,
) -> FastMCP:
    """The gateway's FastMCP server over `specs`; `elicitation` only in that mode."""
    server: FastMCP = FastMCP(
        "opsgate",
        instructions=INSTRUCTIONS,
        version=opsgate.__version__,
        mask_error_details=True,
        dereference_schemas=False,
        on_duplicate="error",
    )
    for spec in specs.values():
        tool = _GatewayTool(
            name=spec.name,
            description=spec.description,
            parameters=spec.input_schema,
            output_schema=OUTPUT_SCHEMA,
            annotations=mcp_types.ToolAnnotations.model_validate(spec.annotations.to_mcp()),
            meta={"opsgate/family": spec.family} if spec.family else None,
        )
        tool._gateway = gateway
        tool._identify = identify
        tool._elicitation = elicitation
        server.add_tool(tool)
    return server
