"""Assemble an `Engine` from `Settings` and the parts the caller already opened.

Called by the API's lifespan and the CLI; tests call it too (the no-bypass test builds the
engine from every settings variant through here). The caller owns `stack`, which closes the
checkpointer and the engine in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack

from opsgate.domain.calls import ToolSpec
from opsgate.engine import policy_source
from opsgate.engine.bus import EventBus
from opsgate.engine.deps import NO_TRACER, EngineDeps, Limits, ToolInvoker, Tracer
from opsgate.engine.engine import Engine
from opsgate.engine.graph import open_checkpointer
from opsgate.engine.models.factory import model_from_settings
from opsgate.engine.tracing import TracedTools
from opsgate.settings import Settings
from opsgate.store.protocol import Store


def deps_from_settings(
    settings: Settings,
    *,
    store: Store,
    bus: EventBus,
    tools: ToolInvoker,
    tool_specs: Mapping[str, ToolSpec],
    approval_key: bytes,
    secret_key: bytes,
    engine_id: str,
    clock: Callable[[], float] = time.time,
    tracer: Tracer = NO_TRACER,
) -> EngineDeps:
    """The engine's dependencies; limits and model come from settings, the gate does not.

    With a `tracer`, every call, preview and verify through `tools` gets a span.
    """
    return EngineDeps(
        model=model_from_settings(settings),
        tools=tools if tracer is NO_TRACER else TracedTools(tools, tracer),
        tool_specs=tool_specs,
        store=store,
        bus=bus,
        approval_key=approval_key,
        secret_key=secret_key,
        clock=clock,
        limits=Limits.from_settings(settings),
        engine_id=engine_id,
        tracer=tracer,
        cluster_identity=dict(settings.cluster_identity),
        policy_file=(
            policy_source.read_policy_file(settings.policy_file)
            if settings.policy_file is not None
            else None
        ),
    )


async def tool_specs(tools: ToolInvoker) -> dict[str, ToolSpec]:
    """What the engine knows of the tools: the tool server's MCP listing, by name."""
    return {spec.name: spec for spec in await tools.list_tools()}


async def open_engine(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    store: Store,
    bus: EventBus,
    tools: ToolInvoker,
    approval_key: bytes,
    secret_key: bytes,
    engine_id: str,
    clock: Callable[[], float] = time.time,
    tracer: Tracer = NO_TRACER,
) -> Engine:
    """An engine and its checkpointer (SQLite in the data dir, or PostgreSQL), closed by `stack`."""
    deps = deps_from_settings(
        settings,
        store=store,
        bus=bus,
        tools=tools,
        tool_specs=await tool_specs(tools),
        approval_key=approval_key,
        secret_key=secret_key,
        engine_id=engine_id,
        clock=clock,
        tracer=tracer,
    )
    checkpointer = await stack.enter_async_context(
        open_checkpointer(settings.database_url, settings.data_dir)
    )
    engine = Engine(deps, checkpointer)
    stack.push_async_callback(engine.aclose)
    return engine
