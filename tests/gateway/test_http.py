"""`opsgate mcp --http` as the MCP authorization and transport rules want it, and what a
client sees: opsgate's name and version, portable output schemas, no path of this machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import opsgate
from opsgate.settings import PROJECT_ROOT
from tests.fixtures.cli import OPSGATE
from tests.fixtures.gateway import NAMESPACE, GatewayServer, Transport, connect, http_gateway
from tests.fixtures.sandbox import SandboxInfo

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def base_of(server: GatewayServer) -> str:
    return server.mcp_url.removesuffix("/mcp")


@pytest.mark.parametrize("path", ["", "/mcp"])
def test_protected_resource_metadata_names_opsgate_as_authorization_server(
    gateway_server: GatewayServer, path: str
) -> None:
    got = httpx.get(f"{base_of(gateway_server)}/.well-known/oauth-protected-resource{path}")
    assert got.status_code == 200
    document = got.json()
    assert document["resource"] == gateway_server.mcp_url
    assert document["authorization_servers"] == [gateway_server.api.url]
    assert document["bearer_methods_supported"] == ["header"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer og_not-a-token-anyone-made", "Basic b3NjYXI6cGFzcw=="],
    ids=["none", "unknown-token", "not-bearer"],
)
def test_a_request_without_an_api_token_is_401_with_the_metadata_url(
    gateway_server: GatewayServer, authorization: str | None
) -> None:
    headers = {**MCP_HEADERS, **({"Authorization": authorization} if authorization else {})}
    got = httpx.post(gateway_server.mcp_url, headers=headers, json=LIST_TOOLS)
    assert got.status_code == 401
    challenge = got.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    metadata = f"{base_of(gateway_server)}/.well-known/oauth-protected-resource"
    assert f'resource_metadata="{metadata}"' in challenge
    assert 'error="invalid_token"' in challenge


@pytest.mark.parametrize(
    ("header", "value", "code"),
    [
        ("Origin", "https://evil.example", "forbidden_origin"),
        ("Host", "evil.example:8765", "forbidden_host"),
    ],
)
def test_a_foreign_origin_or_host_is_refused_even_with_a_valid_token(
    gateway_server: GatewayServer, header: str, value: str, code: str
) -> None:
    token = gateway_server.api.tokens["oscar"]
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {token}", header: value}
    got = httpx.post(gateway_server.mcp_url, headers=headers, json=LIST_TOOLS)
    assert got.status_code == 403
    assert got.json()["error"] == code


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_the_server_reports_opsgates_name_and_version(
    gateway_server: GatewayServer, transport: Transport
) -> None:
    async with connect(gateway_server, transport) as client:
        info = client.server_info
    assert info is not None
    assert (info.name, info.version) == ("opsgate", opsgate.__version__)


def _nullable(schema: Any) -> list[str]:
    """Where `schema` allows null (a `type` list with null, or an `anyOf`/`oneOf` with null)."""
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "null" or (isinstance(kind, list) and "null" in kind):
                found.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(schema, "")
    return found


async def test_the_listing_is_the_engines_tools_with_portable_output_schemas(
    gateway_server: GatewayServer,
) -> None:
    async with connect(gateway_server, "http") as client:
        tools = (await client.list_tools()).tools
    names = {tool.name for tool in tools}
    assert {"k8s_get", "k8s_scale", "helm_list"} <= names
    # Nothing internal to the engine, and nothing that decides approvals.
    assert not [n for n in names if n.startswith("opsgate_") or "approv" in n]
    for tool in tools:
        assert tool.output_schema is not None
        assert _nullable(tool.output_schema) == [], tool.name


def _machine_paths(sandbox: SandboxInfo, server: GatewayServer) -> list[str]:
    return [
        str(PROJECT_ROOT),
        str(OPSGATE.parent),
        str(sandbox.kubeconfig),
        str(sandbox.kubeconfig.parent),
        str(Path(server.api.workdir).resolve()),
        str(sandbox.kubectl),
    ]


async def test_no_path_of_this_machine_reaches_a_client(
    gateway_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    async with connect(gateway_server, "http") as client:
        listing = (await client.list_tools()).model_dump_json()
        read = await client.call_tool(
            "k8s_get", {"resource": "deployments", "name": "web", "namespace": NAMESPACE}
        )
        missing = await client.call_tool(
            "k8s_get", {"resource": "deployments", "name": "absent", "namespace": NAMESPACE}
        )
    assert not read.is_error
    assert missing.is_error
    seen = listing + read.model_dump_json() + missing.model_dump_json()
    assert missing.structured_content is not None
    assert missing.structured_content["outcome"] == "failed"
    leaked = [path for path in _machine_paths(sandbox, gateway_server) if path in seen]
    assert leaked == []


def test_json_logs_cover_the_http_gateway_too(gateway_server: GatewayServer) -> None:
    api = gateway_server.api
    with http_gateway(api, OPSGATE_LOG_FORMAT="json", OPSGATE_LOG_LEVEL="INFO") as url:
        refused = httpx.post(url, json=LIST_TOOLS, headers=MCP_HEADERS, timeout=10)
        assert refused.status_code == 401
        port = url.removesuffix("/mcp").rsplit(":", 1)[1]
    lines = (api.workdir / f"mcp-http-{port}.log").read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    assert records, "the gateway logged nothing"
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["logger"] == "uvicorn.access" and "401" in r["message"] for r in records)
