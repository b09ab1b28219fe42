"""MCP tasks (the `io.modelcontextprotocol/tasks` extension, SEP-2663) for clients' changes.

Registered on the gateway's front by `serve.open_gateway`. A client that declares the extension
on its `tools/call` gets, for a change, a task handle as soon as the approval request is open,
instead of a request held open with heartbeats: `resultType: "task"`, the run's id as `taskId`.
The task is the run, so it is durable: `tasks/get` reads it from the store (any gateway
process on the database answers, after a restart too). It is `working` while the change waits
for its approval or runs, then `completed` with the `CallToolResult` a held call would have
returned (a rejection or an expiry is a completed call with `isError`), or `cancelled` once
the run was stopped. `tasks/cancel` withdraws the change: the run stops (`Engine.stop`) and its
open approval expires, naming the requester; a change already running finishes (the engine
never kills one half-way), so the task may still complete. `tasks/update` has nothing to take
(a gateway task never asks for input). Only the user who asked sees or cancels a task; anyone
else is told it does not exist. A read, or a call refused before the gate, is answered at once
with its ordinary result; a client that does not declare the extension is never given a task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

import mcp_types
from fastmcp import Context
from fastmcp.server.extensions import MethodBinding, ServerExtension, ToolCallContinuation
from fastmcp.tools.base import ToolResult
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from opsgate.api.gateway.calls import CallOutcome, Gateway
from opsgate.api.gateway.front import Identify, client_of, refusal, reporter, tool_result
from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.errors import NotFound, OpsgateError
from opsgate.store.records import Run, ToolCallRecord, User

TASKS_EXTENSION = "io.modelcontextprotocol/tasks"
POLL_INTERVAL_MS = 2_000
MISSING_CAPABILITY = -32021
INVALID_PARAMS = -32602
MODERN = frozenset(MODERN_PROTOCOL_VERSIONS)
"""The protocol revisions the extension is defined for (2026-07-28 and later)."""

TaskStatus = Literal["working", "input_required", "completed", "cancelled", "failed"]


class StoppingEngine(Protocol):
    """What tasks need of `opsgate.engine.Engine`."""

    async def stop(self, run_id: str, user: User) -> Run: ...


class TaskParams(mcp_types.RequestParams):
    """Params of `tasks/get` and `tasks/cancel`."""

    task_id: str = Field(min_length=1, max_length=100)


class UpdateParams(TaskParams):
    """Params of `tasks/update`."""

    input_responses: dict[str, Any] = Field(default_factory=dict)


class Task(BaseModel):
    """A task as the wire carries it (camelCase), in a `CreateTaskResult` or `tasks/get`."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    result_type: Literal["task", "complete"]
    """`task` when it answers a `tools/call`; `complete` on `tasks/get`."""
    task_id: str
    status: TaskStatus
    status_message: str
    created_at: str
    last_updated_at: str
    ttl_ms: int
    """The call's approval TTL plus time to run and verify: by then the task has ended."""
    poll_interval_ms: int
    result: dict[str, Any] | None = None
    """The `CallToolResult`, once `completed` or `cancelled`."""


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def call_tool_result(outcome: CallOutcome) -> dict[str, Any]:
    """The `CallToolResult` a held call returns for `outcome`, as JSON."""
    result = mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=outcome.text())],
        structured_content=outcome.structured(),
        is_error=outcome.is_error,
    )
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


class GatewayTasks(ServerExtension):
    """Offers a declaring client's changes as tasks, and serves `tasks/*` from the store."""

    identifier = TASKS_EXTENSION

    def __init__(self, gateway: Gateway, engine: StoppingEngine, identify: Identify) -> None:
        self.gateway = gateway
        self.engine = engine
        self.identify = identify

    def methods(self) -> Sequence[MethodBinding]:
        return (
            MethodBinding("tasks/get", TaskParams, self._get, MODERN),
            MethodBinding("tasks/update", UpdateParams, self._update, MODERN),
            MethodBinding("tasks/cancel", TaskParams, self._cancel, MODERN),
        )

    async def intercept_tool_call(
        self,
        params: mcp_types.CallToolRequestParams,
        context: Context,
        call_next: ToolCallContinuation,
    ) -> ToolResult | BaseModel:
        request_context = context.request_context
        modern = request_context is not None and request_context.protocol_version in MODERN
        # SEP-2663 tasks are a 2026-07-28 extension: a handshake-era session has no wire shape
        # for them, so its calls are held as before.
        if not modern or not context.client_supports_extension(TASKS_EXTENSION):
            return await call_next()
        tool = params.name
        try:
            user = await self.identify()
            run = await self.gateway.start(
                user, client_of(context), tool, dict(params.arguments or {})
            )
        except OpsgateError as e:
            return refusal(e)
        if run.status in FINAL_RUN_STATUSES:
            return tool_result(await self.gateway.follow(run, tool, reporter(context)))
        return await self._task(run, "task")

    async def _task(self, run: Run, result_type: Literal["task", "complete"]) -> Task:
        """The task of `run` as it stands now."""
        call = await self.gateway.call_of(run.id)
        tool = call.tool if call is not None else "the call"
        result: dict[str, Any] | None = None
        status: TaskStatus = "working"
        if run.status in FINAL_RUN_STATUSES:
            outcome = await self.gateway.outcome(run, tool)
            status = "cancelled" if run.status == "stopped" else "completed"
            message, result = outcome.message, call_tool_result(outcome)
        else:
            message = await self.gateway.standing(run, tool, call)
        return Task(
            result_type=result_type,
            task_id=run.id,
            status=status,
            status_message=message,
            created_at=_iso(run.created_at),
            last_updated_at=_iso(_last_change(run, call)),
            ttl_ms=int(self.gateway.wait_s * 1000),
            poll_interval_ms=POLL_INTERVAL_MS,
            result=result,
        )

    async def _own_run(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> tuple[Run, User]:
        """The run of `task_id` if the caller declared tasks and asked for it, else an error."""
        if self.client_settings(ctx) is None:
            raise MCPError(
                MISSING_CAPABILITY,
                "Missing required client capability",
                {"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}},
            )
        try:
            user = await self.identify()
        except OpsgateError as e:
            raise MCPError(INVALID_PARAMS, f"Failed to retrieve task: {e}") from e
        try:
            run = await self.gateway.store.get_run(task_id)
        except NotFound:
            run = None
        # Another user's run, or one that is not an MCP client's call, is not a task of theirs.
        if run is None or run.requested_by != user.id or run.client_name is None:
            raise MCPError(INVALID_PARAMS, "Failed to retrieve task: Task not found")
        return run, user

    async def _get(self, ctx: ServerRequestContext[Any, Any], params: TaskParams) -> Task:
        run, _ = await self._own_run(ctx, params.task_id)
        return await self._task(run, "complete")

    async def _update(
        self, ctx: ServerRequestContext[Any, Any], params: UpdateParams
    ) -> dict[str, Any]:
        await self._own_run(ctx, params.task_id)
        return {"resultType": "complete"}  # a gateway task never asks: nothing to take

    async def _cancel(
        self, ctx: ServerRequestContext[Any, Any], params: TaskParams
    ) -> dict[str, Any]:
        run, user = await self._own_run(ctx, params.task_id)
        try:
            await self.engine.stop(run.id, user)
        except OpsgateError as e:
            raise MCPError(INVALID_PARAMS, f"the task could not be cancelled: {e}") from e
        return {"resultType": "complete"}


def _last_change(run: Run, call: ToolCallRecord | None) -> datetime:
    moments = [run.created_at, run.finished_at]
    if call is not None:
        moments += [call.created_at, call.started_at, call.finished_at]
    return max(m for m in moments if m is not None)
