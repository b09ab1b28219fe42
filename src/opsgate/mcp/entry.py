"""Entry points of the standalone tool server: stdio and streamable HTTP.

Called by `opsgate mcp` (the CLI) and `python -m opsgate.mcp`. Both build the server from
the one `Settings` object: every tool of the registry, the real subprocess runner, the
binaries found by `opsgate.tools.binaries`, and the approval key from `Settings.key`.
HTTP refuses to start without `settings.mcp_http_token` and refuses every request without it.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio
import uvicorn
from fastmcp import FastMCP
from starlette.applications import Starlette
from starlette.middleware import Middleware

from opsgate.errors import ConfigError
from opsgate.mcp.http_auth import BearerAuth
from opsgate.mcp.server import create_server
from opsgate.settings import Settings
from opsgate.tools import binaries, registry
from opsgate.tools.base import Tool, ToolEnv

MCP_PATH = "/mcp"


def tool_env(settings: Settings) -> ToolEnv:
    """The production `ToolEnv`: real runner, located binaries, helm state under `data_dir`."""
    return binaries.tool_env_from_settings(settings, binaries.runner_from_settings(settings))


def build_server(
    settings: Settings, *, env: ToolEnv | None = None, tools: Mapping[str, Tool] | None = None
) -> FastMCP:
    """The tool server for these settings; `env` and `tools` default to the real ones."""
    return create_server(
        env if env is not None else tool_env(settings),
        tools if tools is not None else registry.all_tools(),
        approval_key=settings.key("approval_key"),
    )


def http_app(settings: Settings, server: FastMCP) -> Starlette:
    """The streamable HTTP app behind the bearer-token check (at `/mcp`)."""
    if settings.mcp_http_token is None or not settings.mcp_http_token.get_secret_value():
        raise ConfigError("OPSGATE_MCP_HTTP_TOKEN must be set to serve MCP over HTTP")
    token = settings.mcp_http_token.get_secret_value()
    return server.http_app(
        path=MCP_PATH,
        transport="http",
        middleware=[Middleware(BearerAuth, token=token)],
    )


def run_stdio(settings: Settings) -> None:
    """Serve every tool over stdio until the client closes the stream."""
    server = build_server(settings)
    anyio.run(lambda: server.run_stdio_async(show_banner=False))


def run_http(settings: Settings, host: str, port: int) -> None:
    """Serve every tool over streamable HTTP at `http://host:port/mcp` (bearer token required)."""
    app = http_app(settings, build_server(settings))
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())
