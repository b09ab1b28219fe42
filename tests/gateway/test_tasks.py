"""MCP tasks (SEP-2663): a client that declares the extension gets its change as a task.

The official MCP Python client (2.3.0, no tasks client of its own) declares the extension and
follows tasks through `tests.fixtures.mcp_tasks.TasksRequester`, over stdio and HTTP, against
`opsgate mcp` in its own process; approvers decide through the HTTP API of `opsgate serve`.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from tests.fixtures import mcp_tasks
from tests.fixtures.gateway import (
    NAMESPACE,
    GatewayServer,
    Transport,
    connect,
    pending_approval,
    replicas,
)
from tests.fixtures.sandbox import SandboxInfo

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def scale(replica_count: int) -> dict[str, Any]:
    return {"resource": "deployment/web", "namespace": NAMESPACE, "replicas": replica_count}


def decide(server: GatewayServer, approval: dict[str, Any], approve: bool) -> None:
    body: dict[str, Any] = {"call_id": approval["items"][0]["call_id"], "approve": approve}
    if not approve:
        body["reason"] = "not now"
    with server.api.api("ada") as api:
        decided = api.post(f"/approvals/{approval['id']}/decision", json=body)
    assert decided.status_code == 200, decided.text


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_a_change_is_a_task_that_completes_with_the_verified_result_once_approved(
    gateway_server: GatewayServer, sandbox: SandboxInfo, transport: Transport
) -> None:
    wanted = replicas(sandbox) + 1
    tasks = mcp_tasks.TasksRequester()
    results: list[Any] = []
    async with (
        connect(gateway_server, transport, extensions=[tasks]) as client,
        anyio.create_task_group() as group,
    ):

        async def call() -> None:
            results.append(await client.call_tool("k8s_scale", scale(wanted)))

        group.start_soon(call)
        with anyio.fail_after(60):
            await tasks.created.wait()
        [handle] = tasks.handles
        approval = await pending_approval(gateway_server.api, "k8s_scale")
        assert handle.task_id == approval["run_id"]
        assert handle.status == "working"
        assert approval["id"] in (handle.status_message or "")
        assert handle.poll_interval_ms is not None
        assert handle.ttl_ms is not None
        polled = await mcp_tasks.get(client.session, handle.task_id)
        assert (polled.status, polled.result) == ("working", None)
        assert replicas(sandbox) != wanted
        decide(gateway_server, approval, approve=True)
    result = results[0]
    assert not result.is_error, result.content
    assert result.structured_content["outcome"] == "verified"
    assert result.structured_content["decided_by"] == "ada"
    assert tasks.states[-1].status == "completed"
    assert replicas(sandbox) == wanted


async def test_a_rejected_change_is_a_completed_task_with_an_error_result(
    gateway_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    before = replicas(sandbox)
    tasks = mcp_tasks.TasksRequester()
    async with (
        connect(gateway_server, "http", extensions=[tasks]) as client,
        anyio.create_task_group() as group,
    ):
        results: list[Any] = []

        async def call() -> None:
            results.append(await client.call_tool("k8s_scale", scale(before + 6)))

        group.start_soon(call)
        approval = await pending_approval(gateway_server.api, "k8s_scale")
        decide(gateway_server, approval, approve=False)
    assert results[0].is_error
    assert results[0].structured_content["outcome"] == "rejected"
    assert results[0].structured_content["reason"] == "not now"
    assert tasks.states[-1].status == "completed"
    assert replicas(sandbox) == before


async def test_cancelling_a_task_withdraws_the_change_and_expires_its_approval(
    gateway_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    before = replicas(sandbox)
    tasks = mcp_tasks.TasksRequester()
    async with (
        connect(gateway_server, "http", extensions=[tasks]) as client,
        anyio.create_task_group() as group,
    ):
        results: list[Any] = []

        async def call() -> None:
            results.append(await client.call_tool("k8s_scale", scale(before + 8)))

        group.start_soon(call)
        with anyio.fail_after(60):
            await tasks.created.wait()
        approval = await pending_approval(gateway_server.api, "k8s_scale")
        await mcp_tasks.cancel(client.session, tasks.handles[0].task_id)
    assert tasks.states[-1].status == "cancelled"
    assert results[0].is_error
    with gateway_server.api.api("ada") as api:
        assert api.get(f"/approvals/{approval['id']}").json()["status"] == "expired"
        run = api.get(f"/runs/{approval['run_id']}").json()["run"]
        events = api.get("/audit", params={"run_id": approval["run_id"]}).json()["items"]
    assert (run["status"], run["reason"]) == ("stopped", "stopped by oscar")
    expired = next(e for e in events if e["kind"] == "approval.expired")
    assert "stopped by oscar" in expired["payload"]["reason"]
    assert replicas(sandbox) == before


async def test_a_read_from_a_tasks_client_is_answered_at_once(
    gateway_server: GatewayServer,
) -> None:
    tasks = mcp_tasks.TasksRequester()
    async with connect(gateway_server, "http", extensions=[tasks]) as client:
        capabilities = client.server_capabilities
        result = await client.call_tool(
            "k8s_get", {"resource": "deployments", "name": "web", "namespace": NAMESPACE}
        )
    assert mcp_tasks.TASKS_EXTENSION in (capabilities.extensions or {})
    assert tasks.handles == []
    assert result.structured_content["outcome"] == "succeeded"


async def test_only_the_requester_sees_or_cancels_a_task(
    gateway_server: GatewayServer, sandbox: SandboxInfo
) -> None:
    tasks = mcp_tasks.TasksRequester()
    async with (
        connect(gateway_server, "http", extensions=[tasks]) as client,
        anyio.create_task_group() as group,
    ):
        group.start_soon(client.call_tool, "k8s_scale", scale(replicas(sandbox) + 9))
        with anyio.fail_after(60):
            await tasks.created.wait()
        task_id = tasks.handles[0].task_id
        async with connect(
            gateway_server, "http", user="ada", extensions=[mcp_tasks.TasksRequester()]
        ) as other:
            with pytest.raises(MCPError, match="Task not found") as seen:
                await mcp_tasks.get(other.session, task_id)
            assert seen.value.code == -32602
            with pytest.raises(MCPError, match="Task not found"):
                await mcp_tasks.cancel(other.session, task_id)
        approval = await pending_approval(gateway_server.api, "k8s_scale")
        assert approval["status"] == "pending"  # the other user's cancel did nothing
        decide(gateway_server, approval, approve=False)


async def test_tasks_get_from_a_client_that_did_not_declare_tasks_is_refused(
    gateway_server: GatewayServer,
) -> None:
    async with connect(gateway_server, "http") as client:
        with pytest.raises(MCPError) as refused:
            await mcp_tasks.get(client.session, "run_anything")
    assert refused.value.code == -32021
    assert refused.value.error.data == {
        "requiredCapabilities": {"extensions": {mcp_tasks.TASKS_EXTENSION: {}}}
    }
