"""`opsgate mcp`: the gateway over stdio or streamable HTTP, opened from `Settings`.

Called by the CLI (`opsgate.cli.serve.mcp`). The process opens the database every other
opsgate process uses, and an engine of its own (its own lease name, so it never takes another
process's runs for its own) over an in-process tool server, exactly as `opsgate serve` does
(`api.build.engine`); it sweeps like the API does (lease, expiry). A decision made through
`opsgate serve` resumes the paused run there; this process sees the outcome in the store.

Identity: on stdio every call is requested by `settings.mcp_user`; over HTTP by the user of
the request's bearer API token (`http_guard`). `settings.mcp_confirm == "elicit"` (the
lower-assurance mode, `gateway.elicit`) is checked here before anything is served: stdio only,
one enabled user, who may approve, and no distinct-approver rule (one person cannot meet it).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import anyio
import uvicorn
from fastmcp import FastMCP
from fastmcp.server.dependencies import get_http_request
from starlette.applications import Starlette
from starlette.middleware import Middleware

from opsgate.api import build, contexts, logs
from opsgate.api.gateway.calls import Gateway
from opsgate.api.gateway.elicit import Elicitation, single_user_refusal
from opsgate.api.gateway.front import Identify, create_front
from opsgate.api.gateway.tasks import GatewayTasks
from opsgate.api.sweeper import sweep_forever
from opsgate.domain.roles import can_approve
from opsgate.engine.bus import EventBus
from opsgate.errors import ConfigError, NotFound, Unauthenticated
from opsgate.settings import PROJECT_ROOT, Settings
from opsgate.store.protocol import Store
from opsgate.store.records import User
from opsgate.tools import in_cluster, registry

MCP_PATH = "/mcp"
SWEEP_EVERY_S = 5.0
WAIT_MARGIN_S = 30.0
"""Beyond the approval TTL, how long a call waits for the change to run and be verified."""

Transport = Literal["stdio", "http"]


@dataclass(frozen=True)
class Opened:
    """The gateway's MCP server and the store it runs on."""

    front: FastMCP
    store: Store


def authorization_server(settings: Settings) -> str:
    """Where users sign in and make API tokens: the opsgate server (its public URL)."""
    return settings.public_url or f"http://{settings.host}:{settings.port}"


def wait_s(settings: Settings) -> float:
    """How long one call waits: `mcp_wait_s`, else the approval TTL plus time to execute."""
    if settings.mcp_wait_s > 0:
        return settings.mcp_wait_s
    return settings.approval_ttl_s + 2 * settings.command_timeout_s + WAIT_MARGIN_S


def hidden_paths(settings: Settings) -> list[str]:
    """This machine's paths a client must not see (binaries, kubeconfig, data, the install)."""
    paths = [
        settings.kubeconfig,
        settings.kubectl_path,
        settings.helm_path,
        settings.tools_dir,
        settings.data_dir.resolve(),
        PROJECT_ROOT,
    ]
    return [str(path) for path in paths if path is not None]


async def _local_user(store: Store, username: str) -> User:
    try:
        found = await store.get_user_by_name(username)
    except NotFound as e:
        raise Unauthenticated(f"OPSGATE_MCP_USER {username!r} is not an opsgate user") from e
    if found.disabled:
        raise Unauthenticated(f"OPSGATE_MCP_USER {username!r} is disabled")
    return User.model_validate(found.model_dump(include=set(User.model_fields)))


def local_identity(store: Store, username: str) -> Identify:
    """The configured stdio user, read again at every call (a disabled user stops at once)."""

    async def identify() -> User:
        return await _local_user(store, username)

    return identify


async def bearer_identity() -> User:
    """The user `http_guard` authenticated for the current HTTP request."""
    from opsgate.api.gateway import http_guard  # see `http_app`

    try:
        user = getattr(get_http_request().state, http_guard.USER_KEY, None)
    except RuntimeError as e:
        raise Unauthenticated("no authenticated HTTP request") from e
    if not isinstance(user, User):
        raise Unauthenticated("the request carries no opsgate API token")
    return user


@asynccontextmanager
async def open_gateway(settings: Settings, transport: Transport) -> AsyncIterator[Opened]:
    """The store, an engine of this process, its sweep, and the gateway's MCP server."""
    if transport == "http" and settings.mcp_confirm == "elicit":
        raise ConfigError(
            "OPSGATE_MCP_CONFIRM=elicit is refused over HTTP: confirmation by elicitation is "
            "only for one person's stdio client on their own machine; over HTTP every change "
            "is approved in the Command Center, the CLI or the API"
        )
    if transport == "stdio" and not settings.mcp_user:
        raise ConfigError(
            "OPSGATE_MCP_USER must name the opsgate user a stdio MCP client acts as "
            "(an operator; `opsgate users add NAME --role operator`)"
        )
    async with AsyncExitStack() as stack:
        # In a pod: the ServiceAccount's `in-cluster` context joins the kubeconfig's, as for
        # `opsgate serve`.
        settings = stack.enter_context(in_cluster.pod_settings(settings))
        store = await build.open_store(settings)
        stack.push_async_callback(store.close)
        bus = EventBus()
        stack.callback(bus.close)
        engine = await build.engine(
            settings,
            store,
            bus,
            registry.all_tools(),
            stack,
            engine_id=f"{settings.engine_id()}-mcp-{secrets.token_hex(4)}",
        )
        await engine.recover()
        sweeper = asyncio.create_task(sweep_forever(engine, SWEEP_EVERY_S))
        stack.push_async_callback(_cancel, sweeper)
        allowed, default = contexts.allowed_contexts(settings)
        ordered = [default, *(c for c in allowed if c != default)] if default else allowed
        gateway = Gateway(
            store=store,
            engine=engine,
            contexts=ordered,
            public_url=authorization_server(settings),
            wait_s=wait_s(settings),
            hidden_paths=hidden_paths(settings),
        )
        identify: Identify
        elicitation: Elicitation | None = None
        if transport == "stdio":
            assert settings.mcp_user is not None
            try:
                local = await _local_user(store, settings.mcp_user)
            except Unauthenticated as e:
                raise ConfigError(str(e)) from e
            identify = local_identity(store, settings.mcp_user)
            if settings.mcp_confirm == "elicit":
                await _check_elicitation(settings, store, local)
                elicitation = Elicitation(gateway=gateway, engine=engine, store=store)
        else:
            identify = bearer_identity
        front = create_front(engine.deps.tool_specs, gateway, identify, elicitation)
        if elicitation is None:
            # Asking the local user and handing out a task handle are two answers to one
            # call; the elicitation mode keeps the call, so it offers no tasks.
            front.add_extension(GatewayTasks(gateway, engine, identify))
        yield Opened(front=front, store=store)


async def _check_elicitation(settings: Settings, store: Store, local: User) -> None:
    """Refuse `OPSGATE_MCP_CONFIRM=elicit` where it would weaken a real approval."""
    why = (
        await single_user_refusal(store)
        or (
            None
            if can_approve(local.role)
            else f"OPSGATE_MCP_USER {local.username!r} is a {local.role}, who may not approve"
        )
        or (
            "the distinct-approver rule is on, and the one user cannot be a second person "
            "(set OPSGATE_REQUIRE_DISTINCT_APPROVER=false for a one-person setup)"
            if settings.require_distinct_approver
            else None
        )
    )
    if why is not None:
        raise ConfigError(
            f"OPSGATE_MCP_CONFIRM=elicit is refused: {why}. Leave it unset (approval in the "
            "Command Center or the CLI) or see docs/mcp.md"
        )


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def http_app(settings: Settings, opened: Opened) -> Starlette:
    """The gateway's streamable HTTP app at `/mcp`, behind `http_guard.GatewayGuard`."""
    # Imported here: the guard brings the API's auth (FastAPI, OIDC), which stdio never uses.
    from opsgate.api.gateway import http_guard

    guard = Middleware(
        http_guard.GatewayGuard,
        store=opened.store,
        mcp_path=MCP_PATH,
        authorization_server=authorization_server(settings),
        allowed_hosts=settings.mcp_allowed_hosts,
        allowed_origins=settings.mcp_allowed_origins,
    )
    return opened.front.http_app(
        path=MCP_PATH, transport="http", middleware=[guard], host_origin_protection=False
    )


async def serve_stdio(settings: Settings) -> None:
    async with open_gateway(settings, "stdio") as opened:
        await opened.front.run_stdio_async(show_banner=False)


async def serve_http(settings: Settings, host: str, port: int) -> None:
    async with open_gateway(settings, "http") as opened:
        config = uvicorn.Config(
            http_app(settings, opened),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            # The same log format as `opsgate serve` (OPSGATE_LOG_FORMAT=json for a collector).
            log_config=logs.dict_config(settings),
        )
        await uvicorn.Server(config).serve()


def run(settings: Settings, transport: Transport, host: str, port: int) -> None:
    if transport == "stdio":
        anyio.run(serve_stdio, settings)
    else:
        anyio.run(serve_http, settings, host, port)
