"""The tool server over real transports: stdio (a spawned process) and streamable HTTP."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from pydantic import SecretStr
from tests.fixtures.mcp import (
    APPROVAL_KEY,
    MemorySpentApprovals,
    RecordingRunner,
    cluster_fingerprint,
    demo_tools,
)
from tests.fixtures.net import free_port

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.errors import ConfigError
from opsgate.mcp import entry
from opsgate.mcp.client import ToolClient
from opsgate.mcp.gate import APPROVAL_META_KEY
from opsgate.mcp.server import create_server
from opsgate.settings import PROJECT_ROOT, Settings
from opsgate.tools import registry
from opsgate.tools.base import ToolEnv

HTTP_TOKEN = "test-mcp-http-token-7f3a-Qx9_kLm2vB8nR4"
SCALE_ARGS: dict[str, Any] = {"name": "web", "replicas": 4, "context": "dev"}


def mint(args: dict[str, Any]) -> str:
    claim = approval_token.ApprovalClaim(
        call_hash(
            "demo_scale", args, args.get("context"), cluster_fingerprint(args.get("context"))
        ),
        "stdio-1",
        time.time() + 60,
    )
    return approval_token.mint(APPROVAL_KEY, claim)


async def test_stdio_lists_tools_reads_and_gates_mutations() -> None:
    transport = StdioTransport(
        command=sys.executable,
        args=["-m", "tests.fixtures.mcp_stdio_server"],
        cwd=str(PROJECT_ROOT),
    )
    async with Client(transport) as client:
        listed = {tool.name: tool for tool in await client.list_tools()}
        read = await client.call_tool_mcp("demo_get", {"resource": "pods"})
        refused = await client.call_tool_mcp("demo_scale", SCALE_ARGS)
        approved = await client.call_tool_mcp(
            "demo_scale", SCALE_ARGS, meta={APPROVAL_META_KEY: mint(SCALE_ARGS)}
        )
        replayed = await client.call_tool_mcp(
            "demo_scale", SCALE_ARGS, meta={APPROVAL_META_KEY: mint(SCALE_ARGS)}
        )
    for name, tool in demo_tools().items():
        assert listed[name].input_schema == tool.input_schema()
        assert listed[name].annotations is not None
        assert listed[name].annotations.read_only_hint is tool.annotations.read_only
    assert read.content[0].text == "kubectl get pods"  # type: ignore[union-attr]
    assert refused.is_error
    assert not approved.is_error
    assert approved.content[0].text == "kubectl scale web --replicas=4"  # type: ignore[union-attr]
    assert replayed.is_error


@pytest.fixture
def http_url(demo_env: ToolEnv) -> Iterator[str]:
    """The demo server over streamable HTTP on a loopback port, served from a thread."""
    settings = Settings(mcp_http_token=SecretStr(HTTP_TOKEN))
    server = create_server(demo_env, demo_tools(), APPROVAL_KEY, spent=MemorySpentApprovals())
    app = entry.http_app(settings, server)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the HTTP tool server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}{entry.MCP_PATH}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", HTTP_TOKEN])
async def test_http_without_the_bearer_token_is_401(
    http_url: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient() as http:
        response = await http.post(
            http_url,
            headers={**headers, "Content-Type": "application/json"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_http_with_the_bearer_token_serves_the_tool_client(
    http_url: str, recording_runner: RecordingRunner
) -> None:
    async with ToolClient.http(http_url, HTTP_TOKEN) as client:
        names = {info.name for info in await client.list_tools()}
        read = await client.call("demo_get", {"resource": "pods"})
        refused = await client.call("demo_scale", SCALE_ARGS)
        approved = await client.call("demo_scale", SCALE_ARGS, approval_token=mint(SCALE_ARGS))
    assert names == set(demo_tools())
    assert read.ok
    assert refused.error == "approval_required"
    assert approved.ok
    assert recording_runner.calls == [
        ("kubectl", "get", "pods"),
        ("kubectl", "scale", "web", "--replicas=4"),
    ]


def test_http_refuses_to_start_without_a_token(demo_env: ToolEnv) -> None:
    server = create_server(demo_env, demo_tools(), APPROVAL_KEY, spent=MemorySpentApprovals())
    with pytest.raises(ConfigError, match="MCP_HTTP_TOKEN"):
        entry.http_app(Settings(mcp_http_token=None), server)
    with pytest.raises(ConfigError):
        entry.http_app(Settings(mcp_http_token=SecretStr("")), server)


WEAK_TOKENS = {
    "one character": "x",
    "31 random characters": secrets.token_urlsafe(32)[:31],
    "one repeated character": "a" * 64,
    "two characters": "ab" * 32,
    "a word repeated": "password" * 6,
    "a long run and a few others": "a" * 40 + "bcdefghij",
}


@pytest.mark.parametrize("token", WEAK_TOKENS.values(), ids=WEAK_TOKENS.keys())
def test_http_refuses_a_weak_bearer_token_saying_why_and_how(demo_env: ToolEnv, token: str) -> None:
    server = create_server(demo_env, demo_tools(), APPROVAL_KEY, spent=MemorySpentApprovals())
    with pytest.raises(ConfigError) as refused:
        entry.http_app(Settings(mcp_http_token=SecretStr(token)), server)
    message = str(refused.value)
    assert "OPSGATE_MCP_HTTP_TOKEN is too weak" in message
    assert "at least 32 characters" in message
    assert "secrets.token_urlsafe(32)" in message
    assert token not in message


@pytest.mark.parametrize(
    "make",
    [lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(16)],
    ids=["urlsafe", "hex"],
)
def test_http_accepts_a_random_bearer_token(demo_env: ToolEnv, make: Callable[[], str]) -> None:
    token = make()
    server = create_server(demo_env, demo_tools(), APPROVAL_KEY, spent=MemorySpentApprovals())
    assert entry.http_app(Settings(mcp_http_token=SecretStr(token)), server) is not None


def test_python_m_opsgate_mcp_refuses_an_empty_approval_key(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "opsgate.mcp"],
        cwd=str(PROJECT_ROOT),
        env={"OPSGATE_DATA_DIR": str(tmp_path), "OPSGATE_APPROVAL_KEY": "", "PATH": "/usr/bin"},
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "OPSGATE_APPROVAL_KEY is empty" in done.stderr
    assert "Traceback" not in done.stderr


async def test_python_m_opsgate_mcp_serves_every_registered_tool(tmp_path: Path) -> None:
    registered = registry.all_tools()
    transport = StdioTransport(
        command=sys.executable,
        args=["-m", "opsgate.mcp"],
        cwd=str(PROJECT_ROOT),
        env={"OPSGATE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    async with Client(transport) as client:
        listed = {tool.name: tool for tool in await client.list_tools()}
    assert set(registered) <= set(listed)
    for name, tool in registered.items():
        served = listed[name]
        assert served.input_schema == tool.input_schema()
        assert served.description == tool.description
        assert served.annotations is not None
        hints = served.annotations.model_dump(by_alias=True, exclude_none=True)
        assert {key: hints[key] for key in tool.annotations.to_mcp()} == tool.annotations.to_mcp()
