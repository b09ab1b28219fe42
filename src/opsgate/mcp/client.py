"""A small typed client of the opsgate tool server, used by the engine (and the benchmark).

One MCP session is opened on `connect()` (or `async with`) and reused for every call, so
many concurrent calls share it; `close()` ends it. By default it talks to a server created
in-process (`ToolClient.in_memory(create_server(...))`); `ToolClient.http(url, token)` reaches
a tool server running apart, with its bearer token.

Mutations carry their approval token in the request's `_meta`, never in the arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import mcp_types
from fastmcp import Client, FastMCP
from fastmcp.client.progress import ProgressHandler
from fastmcp.client.transports import ClientTransport, StreamableHttpTransport
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ConfigDict, ValidationError

from opsgate.domain.acting import ACTING_AS_META_KEY, ActingAs
from opsgate.domain.calls import CallCheck, ToolAnnotations, ToolSpec
from opsgate.errors import ToolFailed, truncate
from opsgate.mcp.gate import APPROVAL_META_KEY
from opsgate.mcp.server import (
    CLASSIFY_TOOL,
    CLUSTER_TOOL,
    INTERNAL_META_KEY,
    PREVIEW_TOOL,
    SNAPSHOT_TOOL,
    VERIFY_TOOL,
)
from opsgate.tools.base import Progress

_FAIL_CLOSED: dict[str, bool] = {
    "readOnlyHint": False,
    "destructiveHint": True,
    "idempotentHint": False,
    "openWorldHint": True,
}


class ToolCallResult(BaseModel):
    """The outcome of one call as the server reported it."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    text: str
    exit_code: int | None = None
    truncated: bool = False
    duration_ms: int = 0
    command: str | None = None
    data: Any = None
    error: str | None = None
    """An `opsgate.errors` code when the call was refused before running (e.g. `invalid_input`)."""


class ToolClient:
    """A pooled MCP session to the tool server."""

    def __init__(self, target: FastMCP | ClientTransport, *, timeout_s: float | None = None):
        self._client: Client[Any] = Client(target, timeout=timeout_s)
        self._connected = False

    @classmethod
    def in_memory(cls, server: FastMCP) -> ToolClient:
        return cls(server)

    @classmethod
    def http(cls, url: str, bearer_token: str, *, timeout_s: float | None = None) -> ToolClient:
        transport = StreamableHttpTransport(
            url, headers={"Authorization": f"Bearer {bearer_token}"}
        )
        return cls(transport, timeout_s=timeout_s)

    async def connect(self) -> None:
        if not self._connected:
            await self._client.__aenter__()  # type: ignore[no-untyped-call]
            self._connected = True

    async def close(self) -> None:
        if self._connected:
            self._connected = False
            await self._client.__aexit__(None, None, None)  # type: ignore[no-untyped-call]

    async def __aenter__(self) -> ToolClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def list_tools(self) -> list[ToolSpec]:
        """Every tool the model may plan with (the internal recipe tools left out)."""
        listed = await self._request(self._client.list_tools())
        return [_tool_info(tool) for tool in listed if not (tool.meta or {}).get(INTERNAL_META_KEY)]

    async def call(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        approval_token: str | None = None,
        on_progress: Progress | None = None,
        acting_as: ActingAs | None = None,
    ) -> ToolCallResult:
        """Run one tool; `on_progress` hears the server's progress messages while it runs.

        `acting_as`: the person the call impersonates on the cluster (`domain.acting`).
        """
        meta = _meta(acting_as)
        if approval_token is not None:
            meta = {**(meta or {}), APPROVAL_META_KEY: approval_token}
        request = self._client.call_tool_mcp(
            tool, args, progress_handler=_progress_handler(on_progress), meta=meta
        )
        return _call_result(await self._request(request))

    async def classify(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[CallCheck]:
        """The server's check of each planned `(tool, args)`: valid, and read-only or not.

        Raises:
            ToolFailed: the server did not answer with one check per call.
        """
        body = {"calls": [{"tool": tool, "args": args} for tool, args in calls]}
        result = _call_result(await self._request(self._client.call_tool_mcp(CLASSIFY_TOOL, body)))
        data = result.data if isinstance(result.data, dict) else {}
        try:
            checks = [CallCheck.model_validate(check) for check in data.get("calls", [])]
        except ValidationError as e:
            raise ToolFailed("the tool server's call checks did not parse") from e
        if not result.ok or len(checks) != len(calls):
            raise ToolFailed(
                f"the tool server did not check the calls: {truncate(result.text, 300)}"
            )
        return checks

    async def preview(
        self, tool: str, args: dict[str, Any], *, acting_as: ActingAs | None = None
    ) -> ToolCallResult:
        """The tool's dry run (server-side diff where it has one); never changes anything."""
        return await self._recipe(PREVIEW_TOOL, tool, args, acting_as=acting_as)

    async def verify(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        on_progress: Progress | None = None,
        acting_as: ActingAs | None = None,
    ) -> ToolCallResult:
        """The tool's post-change check for a call that ran."""
        return await self._recipe(VERIFY_TOOL, tool, args, on_progress, acting_as=acting_as)

    async def snapshot(
        self, tool: str, args: dict[str, Any], *, acting_as: ActingAs | None = None
    ) -> ToolCallResult:
        """The call's targets as they are now and the call restoring them (`tools.base.Snapshot`
        in `data`); read just before an approved change runs, as the person the change will
        act as. Changes nothing."""
        return await self._recipe(SNAPSHOT_TOOL, tool, args, acting_as=acting_as)

    async def cluster(self, context: str | None) -> ToolCallResult:
        """Which cluster `context` resolves to now (`data`: server, CA hash, fingerprint)."""
        request = self._client.call_tool_mcp(CLUSTER_TOOL, {"context": context})
        return _call_result(await self._request(request))

    async def _recipe(
        self,
        recipe: str,
        tool: str,
        args: dict[str, Any],
        on_progress: Progress | None = None,
        *,
        acting_as: ActingAs | None,
    ) -> ToolCallResult:
        request = self._client.call_tool_mcp(
            recipe,
            {"tool": tool, "args": args},
            progress_handler=_progress_handler(on_progress),
            meta=_meta(acting_as),
        )
        return _call_result(await self._request(request))

    async def _request(self, request: Any) -> Any:
        if not self._connected:
            request.close()
            raise ToolFailed("the tool client is not connected")
        try:
            return await request
        except MCPError as e:
            raise ToolFailed(f"tool server refused the request: {truncate(str(e), 300)}") from e


def _meta(acting_as: ActingAs | None) -> dict[str, Any] | None:
    if acting_as is None:
        return None
    return {ACTING_AS_META_KEY: acting_as.model_dump(mode="json")}


def _progress_handler(on_progress: Progress | None) -> ProgressHandler | None:
    """An MCP progress handler passing each message on (None: the call asks for no progress)."""
    if on_progress is None:
        return None

    async def handle(progress: float, total: float | None, message: str | None) -> None:
        if message:
            await on_progress(message)

    return handle


def _tool_info(tool: mcp_types.Tool) -> ToolSpec:
    hints = (
        tool.annotations.model_dump(by_alias=True, exclude_none=True) if tool.annotations else {}
    )
    annotations = ToolAnnotations.model_validate(
        {name: hints.get(name, default) for name, default in _FAIL_CLOSED.items()}
    )
    family = (tool.meta or {}).get("opsgate/family")
    return ToolSpec(
        name=tool.name,
        description=tool.description or "",
        input_schema=tool.input_schema,
        annotations=annotations,
        family=family if family in ("kubectl", "helm", "argo", "jenkins") else None,
    )


def _call_result(result: mcp_types.CallToolResult) -> ToolCallResult:
    text = "\n".join(
        block.text for block in result.content if isinstance(block, mcp_types.TextContent)
    )
    structured = result.structured_content or {}
    return ToolCallResult(
        ok=bool(structured.get("ok", not result.is_error)) and not result.is_error,
        text=text,
        exit_code=structured.get("exit_code"),
        truncated=bool(structured.get("truncated", False)),
        duration_ms=int(structured.get("duration_ms") or 0),
        command=structured.get("command"),
        data=structured.get("data"),
        error=structured.get("error"),
    )
