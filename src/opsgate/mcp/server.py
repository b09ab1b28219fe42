"""The opsgate MCP tool server: every tool served with its schema, annotations and gate.

`create_server` is called by the entry points (`opsgate.mcp.serve`), by `ToolClient.in_memory`
for the engine's in-process use, and by tests. Each call is handled in this order:
validate the arguments with the tool's pydantic model (nothing runs on a bad value), decide
read or mutation, gate mutations (a single-use approval token minted by the engine), run,
and return text plus structured content.

Four extra read-only tools serve the engine, which knows the tools only from this server's
listing: `opsgate_classify` checks planned calls (`{calls: [{tool, args}]}`: valid or not,
naming each bad parameter, and whether each very call only reads); `opsgate_preview` runs a
tool's dry-run recipe, `opsgate_verify` its post-change check and `opsgate_snapshot` its undo
planner (the targets as they are, and the call restoring them), each taking `{tool, args}`;
`opsgate_cluster` says which cluster a context resolves to (`{context}`), the identity
approvals are bound to. They carry `_meta["opsgate/internal"] = true` so clients can leave them
out of what the model sees. A preview's `structured_content["data"]` is a
`tools.base.PreviewReport` (`state`, `command`, per-document states), a verify's a
`tools.base.Verification` with `proves` (the tool's `verifies`), a snapshot's a
`tools.base.Snapshot`, all as JSON.

A mutation of a tool that reaches a cluster through a kubeconfig context is admitted only if
its token was minted for the cluster its context resolves to now (`tools.kubectl.identity`).
For a context whose calls act as a person (`domain.acting`), every call must name that person
in `_meta["opsgate/acting_as"]` (a mutation's token names the same one) and runs with kubectl's
`--as`/`--as-group`; other contexts refuse such a request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import mcp_types
from fastmcp import Context, FastMCP
from fastmcp.server.dependencies import get_context
from fastmcp.tools.base import Tool as McpTool
from fastmcp.tools.base import ToolResult
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from opsgate.domain.acting import ACTING_AS_META_KEY, ActingAs, mode_of
from opsgate.domain.calls import CallCheck
from opsgate.errors import ApprovalRequired, Forbidden, OpsgateError, ToolNotFound, truncate
from opsgate.mcp import results
from opsgate.mcp.gate import ApprovalGate, SpentApprovals
from opsgate.tools import redact
from opsgate.tools.base import Tool, ToolEnv, ToolFn, ToolOutput, Verification
from opsgate.tools.kubectl import identity

INTERNAL_META_KEY = "opsgate/internal"
PROGRESS_CHARS = 300
PREVIEW_TOOL = "opsgate_preview"
VERIFY_TOOL = "opsgate_verify"
SNAPSHOT_TOOL = "opsgate_snapshot"
CLUSTER_TOOL = "opsgate_cluster"
CLASSIFY_TOOL = "opsgate_classify"
MAX_CLASSIFIED_CALLS = 100

_OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "exit_code": {"type": "integer"},
        "truncated": {"type": "boolean"},
        "duration_ms": {"type": "integer"},
        "command": {"type": "string"},
        "data": {},
        "error": {"type": "string"},
    },
    "required": ["ok", "truncated", "duration_ms", "data"],
}
"""Every result's shape; `exit_code` and `command` are left out when there is none (no
nullable types, which strict MCP clients warn about)."""


class ClusterRequest(BaseModel):
    """Arguments of `opsgate_cluster`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    context: str | None = None
    """The kubeconfig context; None for the kubeconfig's current context."""


class PlannedCall(BaseModel):
    """One planned call to check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: str
    args: dict[str, Any]


class ClassifyRequest(BaseModel):
    """Arguments of `opsgate_classify`: the planned calls of one step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calls: list[PlannedCall] = Field(max_length=MAX_CLASSIFIED_CALLS)


class RecipeRequest(BaseModel):
    """Arguments of `opsgate_preview` / `opsgate_verify` / `opsgate_snapshot`: which tool, with
    which arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    tool: str
    """Name of the mutating tool whose recipe to run."""
    args: dict[str, Any]
    """The arguments of the planned call, exactly as they would be sent to the tool."""


RecipeKind = Literal["preview", "verify", "snapshot"]
"""Which recipe of a mutating tool an internal recipe tool runs."""

HEARTBEAT_S = 5.0
"""How often a call that is still running says so, when its client follows progress."""


@dataclass
class ToolService:
    """Validates, gates and runs calls; the FastMCP components below delegate here."""

    env: ToolEnv
    tools: Mapping[str, Tool]
    gate: ApprovalGate
    heartbeat_s: float = HEARTBEAT_S

    async def call(self, name: str, args: Mapping[str, Any]) -> ToolResult:
        tool = self.tools[name]
        try:
            params = tool.parse(args)
        except ValidationError as e:
            return results.from_validation_error(name, e)
        try:
            acting = self._acting_as(tool, args)
        except OpsgateError as e:
            return results.from_error(e)
        if not tool.is_read_only(params):
            refused = await self._admit(tool, args, acting)
            if refused is not None:
                return refused
        return await self._run(tool.run, params, acting)

    def _acting_as(self, tool: Tool, args: Mapping[str, Any]) -> ActingAs | None:
        """Who the call acts as on the cluster: the person in `_meta` for an impersonating
        context (required there), None for opsgate's own identity (`domain.acting`)."""
        request_context = get_context().request_context
        meta = (request_context.meta if request_context is not None else None) or {}
        raw = meta.get(ACTING_AS_META_KEY)
        if not tool.reaches_cluster:
            return None  # Jenkins acts with its configured credentials, whoever asks
        context = args.get("context")
        context = context if isinstance(context, str) else self.env.default_context
        if mode_of(self.env.cluster_identity, context) == "service":
            if raw is not None:
                raise Forbidden(
                    f"context {context!r} uses opsgate's own identity; a request to act as "
                    "someone else there is refused; nothing was run"
                )
            return None
        if raw is None:
            raise Forbidden(
                f"context {context!r} acts as the requesting person (impersonate), but the "
                "request names nobody; nothing was run"
            )
        try:
            return ActingAs.model_validate(raw)
        except ValidationError as e:
            raise Forbidden(
                f"the identity to act as in context {context!r} is not valid; nothing was run"
            ) from e

    async def cluster(self, args: Mapping[str, Any]) -> ToolResult:
        try:
            request = ClusterRequest.model_validate(dict(args))
            found = await identity.cluster_identity(self.env, request.context)
        except ValidationError as e:
            return results.from_validation_error(CLUSTER_TOOL, e)
        except OpsgateError as e:
            return results.from_error(e)
        return results.from_output(
            ToolOutput(ok=True, text=found.server, data=found.model_dump(mode="json"))
        )

    async def classify(self, args: Mapping[str, Any]) -> ToolResult:
        try:
            request = ClassifyRequest.model_validate(dict(args))
        except ValidationError as e:
            return results.from_validation_error(CLASSIFY_TOOL, e)
        checks = [self.check(call.tool, call.args) for call in request.calls]
        data = {"calls": [check.model_dump(mode="json") for check in checks]}
        return results.from_output(
            ToolOutput(ok=True, text=f"{len(checks)} calls checked", data=data)
        )

    def check(self, name: str, args: Mapping[str, Any]) -> CallCheck:
        """Validate one planned call as running it would, and say if this very call reads."""
        tool = self.tools.get(name)
        if tool is None:
            return CallCheck(valid=False, error=f"no tool named {name!r}")
        try:
            params = tool.parse(args)
        except ValidationError as e:
            return CallCheck(valid=False, error=results.describe_invalid(name, e))
        return CallCheck(
            valid=True,
            read_only=tool.is_read_only(params),
            per_call=tool.read_only_when is not None,
        )

    async def recipe(self, kind: RecipeKind, args: Mapping[str, Any]) -> ToolResult:
        try:
            request = RecipeRequest.model_validate(dict(args))
        except ValidationError as e:
            return results.from_validation_error(kind, e)
        tool = self.tools.get(request.tool)
        if tool is None:
            return results.from_error(ToolNotFound(f"no tool named {request.tool!r}"))
        try:
            params = tool.parse(request.args)
        except ValidationError as e:
            return results.from_validation_error(request.tool, e)
        fn = {"preview": tool.preview, "verify": tool.verify, "snapshot": tool.snapshot}[kind]
        if fn is None:
            return results.refusal("not_declared", f"tool {request.tool!r} declares no {kind}")
        try:
            acting = self._acting_as(tool, request.args)
        except OpsgateError as e:
            return results.from_error(e)
        return await self._run(_structured(fn, proves=tool.verifies), params, acting)

    async def _admit(
        self, tool: Tool, args: Mapping[str, Any], acting_as: ActingAs | None
    ) -> ToolResult | None:
        """None when the mutation may run; otherwise the refusal to return."""
        name = tool.name
        request_context = get_context().request_context
        meta = request_context.meta if request_context is not None else None
        try:
            self.gate.token_of(name, meta)
            cluster = await self._cluster_of(tool, args)
            await self.gate.admit(
                name, args, meta, cluster, acting_as.text if acting_as is not None else None
            )
        except OpsgateError as e:
            return results.from_error(e)
        return None

    async def _cluster_of(self, tool: Tool, args: Mapping[str, Any]) -> str | None:
        """The fingerprint of the cluster this call's context resolves to now (None for tools
        that reach no cluster); the approval token must have been minted for it."""
        if not tool.reaches_cluster:
            return None
        context = args.get("context")
        try:
            found = await identity.cluster_identity(
                self.env, context if isinstance(context, str) else None
            )
        except OpsgateError as e:
            raise ApprovalRequired(f"the approval cannot be checked: {e}; nothing was run") from e
        return found.fingerprint

    async def _run(self, fn: ToolFn, params: Any, acting_as: ActingAs | None) -> ToolResult:
        """Run one tool function (as `acting_as` on the cluster, when set); when the client
        asked for progress (MCP `progressToken`), forward the tool's own reports and say every
        `heartbeat_s` that it is still running."""
        ctx = get_context()
        request_context = ctx.request_context
        meta = (request_context.meta if request_context is not None else None) or {}
        env = self.env if acting_as is None else replace(self.env, acting_as=acting_as)
        try:
            if meta.get("progressToken") is None:
                output = await fn(params, env)
            else:
                output = await self._run_reporting(fn, params, ctx, env)
        except OpsgateError as e:
            return results.from_error(e)
        return results.from_output(output)

    async def _run_reporting(
        self, fn: ToolFn, params: Any, ctx: Context, env: ToolEnv
    ) -> ToolOutput:
        loop = asyncio.get_running_loop()
        started = loop.time()
        beats: set[asyncio.Task[None]] = set()
        timer: asyncio.TimerHandle

        async def report(text: str) -> None:
            message = truncate(redact.redact_text(text), PROGRESS_CHARS)
            await ctx.report_progress(loop.time() - started, None, message)

        def beat() -> None:
            nonlocal timer
            sent = loop.create_task(report(f"still running ({loop.time() - started:.0f} s)"))
            beats.add(sent)
            sent.add_done_callback(beats.discard)
            timer = loop.call_later(self.heartbeat_s, beat)

        timer = loop.call_later(self.heartbeat_s, beat)
        try:
            return await fn(params, replace(env, report=report))
        finally:
            timer.cancel()
            # A heartbeat on its way goes out before the result does.
            await asyncio.gather(*beats, return_exceptions=True)


def _structured(fn: ToolFn, *, proves: str | None) -> ToolFn:
    """A recipe whose report (`PreviewReport`, `Verification`) goes out as JSON in
    `structured_content["data"]`, for the client to validate back into the same model; a
    `Verification` says what the check proves (the tool's `verifies`)."""

    async def run(params: Any, env: ToolEnv) -> ToolOutput:
        output = await fn(params, env)
        if isinstance(output.data, Verification):
            return replace(output, data={**output.data.model_dump(mode="json"), "proves": proves})
        if isinstance(output.data, BaseModel):
            return replace(output, data=output.data.model_dump(mode="json"))
        return output

    return run


class _ServedTool(McpTool):
    """One opsgate tool as a FastMCP component."""

    _service: ToolService = PrivateAttr()

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return await self._service.call(self.name, arguments)


class _InternalTool(McpTool):
    """`opsgate_classify` or `opsgate_cluster`: one `ToolService` handler."""

    _handle: Callable[[Mapping[str, Any]], Awaitable[ToolResult]] = PrivateAttr()

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return await self._handle(arguments)


class _RecipeTool(McpTool):
    """`opsgate_preview`, `opsgate_verify` or `opsgate_snapshot`."""

    _service: ToolService = PrivateAttr()
    _kind: RecipeKind = PrivateAttr()

    async def run(self, arguments: dict[str, Any]) -> ToolResult:
        return await self._service.recipe(self._kind, arguments)


_READ_ONLY = mcp_types.ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def create_server(
    env: ToolEnv,
    tools: Mapping[str, Tool],
    approval_key: bytes,
    clock: Callable[[], float] = time.time,
    heartbeat_s: float = HEARTBEAT_S,
    *,
    spent: SpentApprovals,
) -> FastMCP:
    """A FastMCP server exposing `tools`; every mutation needs a token of `approval_key`.

    `spent` is the shared record (the database) that makes each approval token single use
    across every tool server process.
    """
    gate = ApprovalGate(key=approval_key, clock=clock, spent=spent)
    service = ToolService(env=env, tools=dict(tools), gate=gate, heartbeat_s=heartbeat_s)
    server: FastMCP = FastMCP(
        "opsgate",
        instructions="Kubernetes and CI/CD tools; every mutation needs an approval.",
        mask_error_details=True,
        dereference_schemas=False,
        on_duplicate="error",
    )
    for tool in tools.values():
        served = _ServedTool(
            name=tool.name,
            description=tool.description,
            parameters=tool.input_schema(),
            output_schema=_OUTPUT_SCHEMA,
            annotations=mcp_types.ToolAnnotations.model_validate(tool.annotations.to_mcp()),
            meta={"opsgate/family": tool.family},
        )
        served._service = service
        server.add_tool(served)
    recipes: list[tuple[RecipeKind, str]] = [
        ("preview", PREVIEW_TOOL),
        ("verify", VERIFY_TOOL),
        ("snapshot", SNAPSHOT_TOOL),
    ]
    for kind, name in recipes:
        recipe = _RecipeTool(
            name=name,
            description=f"Run a mutating tool's {kind} recipe (read-only). Internal to opsgate.",
            parameters=RecipeRequest.model_json_schema(),
            output_schema=_OUTPUT_SCHEMA,
            annotations=_READ_ONLY,
            meta={INTERNAL_META_KEY: True},
        )
        recipe._service = service
        recipe._kind = kind
        server.add_tool(recipe)
    internal: list[tuple[str, str, type[BaseModel], Callable[..., Awaitable[ToolResult]]]] = [
        (
            CLASSIFY_TOOL,
            "Check planned calls' arguments and whether each only reads. Internal.",
            ClassifyRequest,
            service.classify,
        ),
        (
            CLUSTER_TOOL,
            "Which cluster a kubeconfig context resolves to (read-only). Internal.",
            ClusterRequest,
            service.cluster,
        ),
    ]
    for name, description, request, handle in internal:
        served_internal = _InternalTool(
            name=name,
            description=description,
            parameters=request.model_json_schema(),
            output_schema=_OUTPUT_SCHEMA,
            annotations=_READ_ONLY,
            meta={INTERNAL_META_KEY: True},
        )
        served_internal._handle = handle
        server.add_tool(served_internal)
    return server
