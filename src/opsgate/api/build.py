"""Assembles the real dependencies for the app's lifespan: store, tools, tool server, engine.

Called only by `opsgate.api.app` (tests inject their own pieces through `AppDeps` instead).
Everything opened here is registered on the caller's `AsyncExitStack`, closed in reverse order.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack

from opsgate.engine import engine as engine_module
from opsgate.engine import factory as engine_factory
from opsgate.engine.bus import EventBus
from opsgate.engine.deps import NO_TRACER, Tracer
from opsgate.mcp import client as mcp_client
from opsgate.mcp import server as mcp_server
from opsgate.settings import Settings
from opsgate.store import sql
from opsgate.store.jenkins_directory import JenkinsDirectory
from opsgate.store.protocol import Store
from opsgate.tools import binaries
from opsgate.tools.base import CommandRunner, Tool


async def open_store(settings: Settings) -> Store:
    return await sql.open_store(
        settings.sqlalchemy_url(),
        secret_key=settings.key("secret_key"),
        audit_key=settings.key("audit_key"),
    )


async def engine(
    settings: Settings,
    store: Store,
    bus: EventBus,
    tools: Mapping[str, Tool],
    stack: AsyncExitStack,
    *,
    runner: CommandRunner | None = None,
    engine_id: str | None = None,
    tracer: Tracer = NO_TRACER,
) -> engine_module.Engine:
    """The engine over an in-process tool server; closed with `stack`.

    `engine_id` names its lease (default: this deployment's, `Settings.engine_id`); a second
    engine on the same data directory (the MCP gateway) needs a name of its own.

    The tool server spends approval tokens in `store` and resolves Jenkins servers through it,
    like every other tool server on the same database.
    """
    approval_key = settings.key("approval_key")
    env = binaries.tool_env_from_settings(
        settings,
        runner or binaries.runner_from_settings(settings),
        jenkins=JenkinsDirectory(store, settings.jenkins),
    )
    server = mcp_server.create_server(env, tools, approval_key, spent=store)
    tool_client = mcp_client.ToolClient.in_memory(server)
    await tool_client.connect()
    stack.push_async_callback(tool_client.close)
    return await engine_factory.open_engine(
        settings,
        stack,
        store=store,
        bus=bus,
        tools=tool_client,
        approval_key=approval_key,
        secret_key=settings.key("secret_key"),
        engine_id=engine_id or settings.engine_id(),
        tracer=tracer,
    )
