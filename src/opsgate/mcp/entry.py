"""Entry points of the standalone tool server: stdio and streamable HTTP.

Called by `python -m opsgate.mcp` and tests; outside MCP clients use `opsgate mcp` instead (the
gateway, `opsgate.api.gateway`, which runs this server in-process behind its engine). Both build
the server from the one `Settings` object: every tool of the registry, the real subprocess
runner, the binaries found by `opsgate.tools.binaries`, the approval key from `Settings.key`,
and the database (the same one `opsgate serve` uses) for the two things every tool server must
share: which approval tokens were spent, and which Jenkins servers an admin added. HTTP refuses
to start without a strong `settings.mcp_http_token` and refuses every request without it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import anyio
import uvicorn
from fastmcp import FastMCP
from starlette.applications import Starlette
from starlette.middleware import Middleware

from opsgate.errors import ConfigError
from opsgate.mcp import http_auth
from opsgate.mcp.server import create_server
from opsgate.settings import HOW_TO_MAKE_A_KEY, Settings
from opsgate.store import sql
from opsgate.store.jenkins_directory import JenkinsDirectory
from opsgate.store.protocol import Store
from opsgate.tools import binaries, registry
from opsgate.tools.base import Tool, ToolEnv

MCP_PATH = "/mcp"


def tool_env(settings: Settings, store: Store) -> ToolEnv:
    """The production `ToolEnv`: real runner, located binaries, helm state under `data_dir`,
    and the Jenkins servers of the database and settings."""
    return binaries.tool_env_from_settings(
        settings,
        binaries.runner_from_settings(settings),
        jenkins=JenkinsDirectory(store, settings.jenkins),
    )


@asynccontextmanager
async def tool_server(
    settings: Settings, *, env: ToolEnv | None = None, tools: Mapping[str, Tool] | None = None
) -> AsyncIterator[FastMCP]:
    """The tool server for these settings, over the open database; closed on exit.

    `env` and `tools` default to the real ones; spent approvals always go to the database.
    """
    approval_key = settings.key("approval_key")
    store = await sql.open_store(
        settings.sqlalchemy_url(),
        secret_key=settings.key("secret_key"),
        audit_key=settings.key("audit_key"),
    )
    try:
        yield create_server(
            env if env is not None else tool_env(settings, store),
            tools if tools is not None else registry.all_tools(),
            approval_key=approval_key,
            spent=store,
        )
    finally:
        await store.close()


def bearer_token(settings: Settings) -> str:
    """The bearer token HTTP clients must send; refused when missing or weak.

    Raises:
        ConfigError: `OPSGATE_MCP_HTTP_TOKEN` is unset, or too short or repetitive.
    """
    if settings.mcp_http_token is None:
        raise ConfigError(
            "OPSGATE_MCP_HTTP_TOKEN must be set to serve MCP over HTTP; "
            f"make one with `{HOW_TO_MAKE_A_KEY}`"
        )
    token = settings.mcp_http_token.get_secret_value()
    http_auth.require_strong_token(token)
    return token


def http_app(settings: Settings, server: FastMCP) -> Starlette:
    """The streamable HTTP app behind the bearer-token check (at `/mcp`)."""
    return server.http_app(
        path=MCP_PATH,
        transport="http",
        middleware=[Middleware(http_auth.BearerAuth, token=bearer_token(settings))],
    )


def http_server(settings: Settings, server: FastMCP, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for `http_app`; `await .serve()` runs it until `.should_exit`."""
    config = uvicorn.Config(
        http_app(settings, server), host=host, port=port, log_level=settings.log_level.lower()
    )
    return uvicorn.Server(config)


async def serve_stdio(settings: Settings) -> None:
    """Serve every tool over stdio until the client closes the stream."""
    async with tool_server(settings) as server:
        await server.run_stdio_async(show_banner=False)


async def serve_http(settings: Settings, host: str, port: int) -> None:
    """Serve every tool over streamable HTTP at `http://host:port/mcp` (bearer token required)."""
    bearer_token(settings)  # refuse a weak token before opening anything
    async with tool_server(settings) as server:
        await http_server(settings, server, host, port).serve()


def run_stdio(settings: Settings) -> None:
    anyio.run(serve_stdio, settings)


def run_http(settings: Settings, host: str, port: int) -> None:
    anyio.run(serve_http, settings, host, port)
