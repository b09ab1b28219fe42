"""Who asks through the gateway is who the approval rules see.

A requester cannot approve their own change (the distinct-approver rule), a viewer cannot
propose one, and a client that goes away leaves its request open for a person to decide.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from tests.fixtures.gateway import (
    NAMESPACE,
    GatewayServer,
    connect,
    pending_approval,
    replicas,
)
from tests.fixtures.sandbox import SandboxInfo

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def scale(replica_count: int) -> dict[str, Any]:
    return {"resource": "deployment/web", "namespace": NAMESPACE, "replicas": replica_count}


def decide(server: GatewayServer, user: str, approval: dict[str, Any]) -> Any:
    with server.api.api(user) as client:
        return client.post(
            f"/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": True},
        )


async def test_an_approver_calling_through_mcp_cannot_approve_their_own_change(
    gateway_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    wanted = replicas(sandbox) + 1
    results: list[Any] = []
    async with (
        connect(gateway_server, "http", user="ada") as client,
        anyio.create_task_group() as group,
    ):

        async def call() -> None:
            results.append(await client.call_tool("k8s_scale", scale(wanted)))

        group.start_soon(call)
        approval = await pending_approval(gateway_server.api, "k8s_scale")
        assert approval["proposed_by_name"] == "ada"
        own = decide(gateway_server, "ada", approval)
        assert own.status_code == 403
        assert "the requester of a change may not approve it" in own.text
        assert replicas(sandbox) != wanted
        other = decide(gateway_server, "root", approval)
        assert other.status_code == 200, other.text
    assert results[0].structured_content["outcome"] == "verified"
    assert results[0].structured_content["decided_by"] == "root"
    assert replicas(sandbox) == wanted


async def test_a_viewer_cannot_propose_a_change_through_mcp(
    gateway_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    before = replicas(sandbox)
    async with connect(gateway_server, "http", user="vera") as client:
        result = await client.call_tool("k8s_scale", scale(before + 2))
    assert result.is_error
    assert "user 'vera' may not start runs" in result.content[0].text
    assert gateway_server.api.pending() == []
    assert replicas(sandbox) == before


async def test_a_client_that_goes_away_leaves_the_request_open_and_decidable(
    gateway_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    wanted = replicas(sandbox) + 1
    async with connect(gateway_server, "stdio") as client, anyio.create_task_group() as group:
        group.start_soon(client.call_tool, "k8s_scale", scale(wanted))
        approval = await pending_approval(gateway_server.api, "k8s_scale")
        group.cancel_scope.cancel()
    # The stdio gateway process has gone with its client; the request is still pending.
    assert [a["id"] for a in gateway_server.api.pending()] == [approval["id"]]
    decided = decide(gateway_server, "ada", approval)
    assert decided.status_code == 200, decided.text
    deadline = time.monotonic() + 60
    with gateway_server.api.api("ada") as api:
        while (run := api.get(f"/runs/{approval['run_id']}").json()["run"])["status"] not in (
            "completed",
            "completed_with_failures",
            "failed",
        ):
            assert time.monotonic() < deadline, run
            await anyio.sleep(0.3)
        calls = api.get(f"/runs/{approval['run_id']}").json()["calls"]
    assert run["status"] == "completed"
    assert calls[0]["status"] == "verified"
    assert replicas(sandbox) == wanted
