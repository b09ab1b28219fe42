"""An outside MCP client's change waits for a person's approval, then gets the real outcome.

`opsgate mcp` runs in its own process (stdio or HTTP) with the official MCP Python client; the
approval is decided through the HTTP API of a separate `opsgate serve` on the same database.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from tests.fixtures.gateway import (
    APPROVAL_TTL_S,
    CLIENT,
    NAMESPACE,
    GatewayServer,
    Transport,
    connect,
    pending_approval,
    replicas,
)
from tests.fixtures.sandbox import SandboxInfo

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

TRANSPORTS: list[Transport] = ["stdio", "http"]


def scale(replica_count: int) -> dict[str, Any]:
    return {"resource": "deployment/web", "namespace": NAMESPACE, "replicas": replica_count}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_scale_waits_for_approval_and_returns_the_verified_result(
    gateway_server: GatewayServer, sandbox: SandboxInfo, transport: Transport
) -> None:
    api = gateway_server.api
    wanted = 3 if transport == "stdio" else 4
    progress: list[str] = []

    async def heard(done: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with connect(gateway_server, transport) as client, anyio.create_task_group() as group:
        results: list[Any] = []

        async def call() -> None:
            results.append(
                await client.call_tool("k8s_scale", scale(wanted), progress_callback=heard)
            )

        group.start_soon(call)
        approval = await pending_approval(api, "k8s_scale")
        item = approval["items"][0]
        assert approval["proposed_by_name"] == "oscar"
        assert (approval["client_name"], approval["client_version"]) == (
            CLIENT.name,
            CLIENT.version,
        )
        with api.api("ada") as ada:
            one = ada.get(f"/approvals/{approval['id']}").json()
        assert (one["client_name"], one["client_version"]) == (CLIENT.name, CLIENT.version)
        listed = await anyio.to_thread.run_sync(
            lambda: api.run("approvals", "show", approval["id"], user="ada")
        )
        assert listed.returncode == 0, listed.stderr
        header = next(line for line in listed.stdout.splitlines() if approval["id"] in line)
        assert f"proposed by oscar via {CLIENT.name} {CLIENT.version}" in header
        assert item["args"]["replicas"] == wanted
        assert replicas(sandbox) != wanted  # nothing ran before the decision
        with api.api("oscar") as oscar:
            own = oscar.post(
                f"/approvals/{approval['id']}/decision",
                json={"call_id": item["call_id"], "approve": True},
            )
        assert own.status_code == 403, own.text  # an operator may not decide at all
        with api.api("ada") as ada:
            decided = ada.post(
                f"/approvals/{approval['id']}/decision",
                json={"call_id": item["call_id"], "approve": True},
            )
            assert decided.status_code == 200, decided.text
            conversation = ada.get(f"/conversations/{approval['conversation_id']}").json()
    result = results[0]
    structured = result.structured_content
    assert not result.is_error, result.content
    assert structured["outcome"] == "verified"
    assert structured["decided_by"] == "ada"
    assert structured["approval_id"] == approval["id"]
    assert structured["verification"]["verdict"] == "verified"
    assert replicas(sandbox) == wanted
    assert any(approval["id"] in message for message in progress), progress
    assert conversation["conversation"]["title"] == f"MCP client {CLIENT.name}"
    with api.api("ada") as ada:
        events = ada.get("/audit", params={"run_id": approval["run_id"]}).json()["items"]
    request = next(e for e in events if e["kind"] == "request")
    assert request["actor_name"] == "oscar"
    assert request["payload"]["client"] == {"name": CLIENT.name, "version": CLIENT.version}
    assert [e["kind"] for e in events if e["kind"].startswith("approval.")] == [
        "approval.requested",
        "approval.granted",
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_rejected_change_returns_who_rejected_it_and_why(
    gateway_server: GatewayServer, sandbox: SandboxInfo, transport: Transport
) -> None:
    api = gateway_server.api
    before = replicas(sandbox)
    async with connect(gateway_server, transport) as client, anyio.create_task_group() as group:
        results: list[Any] = []

        async def call() -> None:
            results.append(await client.call_tool("k8s_scale", scale(before + 5)))

        group.start_soon(call)
        approval = await pending_approval(api, "k8s_scale")
        with api.api("ada") as ada:
            decided = ada.post(
                f"/approvals/{approval['id']}/decision",
                json={
                    "call_id": approval["items"][0]["call_id"],
                    "approve": False,
                    "reason": "not during the sale",
                },
            )
            assert decided.status_code == 200, decided.text
    result = results[0]
    assert result.is_error
    assert result.structured_content["outcome"] == "rejected"
    assert result.structured_content["decided_by"] == "ada"
    assert result.structured_content["reason"] == "not during the sale"
    assert "rejected by ada: not during the sale" in result.content[0].text
    assert replicas(sandbox) == before


async def test_an_undecided_change_expires_with_a_clear_result(
    gateway_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    before = replicas(sandbox)
    with anyio.fail_after(APPROVAL_TTL_S + 60):
        async with connect(gateway_server, "http") as client:
            result = await client.call_tool("k8s_scale", scale(before + 7))
    assert result.is_error
    assert result.structured_content["outcome"] == "expired"
    assert "expired undecided" in result.content[0].text
    assert replicas(sandbox) == before


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_reads_run_at_once_as_the_calling_user(
    gateway_server: GatewayServer, transport: Transport
) -> None:
    async with connect(gateway_server, transport) as client:
        result = await client.call_tool(
            "k8s_get", {"resource": "deployments", "name": "web", "namespace": NAMESPACE}
        )
    assert not result.is_error, result.content
    assert result.structured_content["outcome"] == "succeeded"
    assert "web" in result.structured_content["output"]
