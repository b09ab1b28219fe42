"""`ToolClient`, the engine's typed view of the tool server, over the in-memory transport."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from tests.fixtures.mcp import (
    APPROVAL_KEY,
    MemorySpentApprovals,
    RecordingRunner,
    cluster_fingerprint,
    demo_tools,
)

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.errors import ToolFailed
from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.tools.base import ToolEnv

SCALE_ARGS: dict[str, Any] = {"name": "web", "replicas": 2, "context": "dev"}


@pytest.fixture
def client(demo_env: ToolEnv) -> ToolClient:
    return ToolClient.in_memory(
        create_server(demo_env, demo_tools(), APPROVAL_KEY, spent=MemorySpentApprovals())
    )


def mint(tool: str, args: dict[str, Any], approval_id: str) -> str:
    claim = approval_token.ApprovalClaim(
        call_hash(tool, args, args.get("context"), cluster_fingerprint(args.get("context"))),
        approval_id,
        time.time() + 60,
    )
    return approval_token.mint(APPROVAL_KEY, claim)


async def test_list_tools_gives_typed_info_without_internal_tools(client: ToolClient) -> None:
    async with client:
        infos = {info.name: info for info in await client.list_tools()}
    assert set(infos) == set(demo_tools())
    scale = infos["demo_scale"]
    assert scale.family == "kubectl"
    assert scale.annotations.read_only is False
    assert infos["demo_get"].annotations.read_only is True
    assert infos["demo_fail"].annotations.destructive is True
    assert scale.input_schema == demo_tools()["demo_scale"].input_schema()


async def test_call_read_and_approved_mutation(
    client: ToolClient, recording_runner: RecordingRunner
) -> None:
    async with client:
        read = await client.call("demo_get", {"resource": "pods"})
        refused = await client.call("demo_scale", SCALE_ARGS)
        approved = await client.call(
            "demo_scale", SCALE_ARGS, approval_token=mint("demo_scale", SCALE_ARGS, "a-1")
        )
    assert read.ok
    assert read.text == "kubectl get pods"
    assert read.data == {"argv": ["kubectl", "get", "pods"]}
    assert not refused.ok
    assert refused.error == "approval_required"
    assert approved.ok
    assert approved.command == "kubectl scale web --replicas=2"
    assert recording_runner.calls == [
        ("kubectl", "get", "pods"),
        ("kubectl", "scale", "web", "--replicas=2"),
    ]


async def test_preview_and_verify(client: ToolClient, recording_runner: RecordingRunner) -> None:
    async with client:
        preview = await client.preview("demo_scale", SCALE_ARGS)
        verify = await client.verify("demo_scale", SCALE_ARGS)
        none = await client.preview("demo_get", {"resource": "pods"})
    assert preview.ok
    assert verify.ok
    assert none.error == "not_declared"
    assert recording_runner.calls == [
        ("kubectl", "scale", "web", "--dry-run=server"),
        ("kubectl", "rollout", "status", "web"),
    ]


async def test_one_session_serves_many_concurrent_calls(
    client: ToolClient, recording_runner: RecordingRunner
) -> None:
    results = []

    async def one(index: int) -> None:
        results.append(await client.call("demo_get", {"resource": "pods"}))

    async with client, anyio.create_task_group() as group:
        for index in range(20):
            group.start_soon(one, index)
    assert len(results) == 20
    assert all(result.ok for result in results)
    assert len(recording_runner.calls) == 20


async def test_calls_after_close_fail_clearly(client: ToolClient) -> None:
    await client.connect()
    await client.close()
    with pytest.raises(ToolFailed, match="not connected"):
        await client.call("demo_get", {"resource": "pods"})


async def test_unknown_tool_is_an_error_result(client: ToolClient) -> None:
    async with client:
        result = await client.call("no_such_tool", {})
    assert not result.ok
    assert "no_such_tool" in result.text


async def test_the_server_checks_planned_calls_as_running_them_would(client: ToolClient) -> None:
    async with client:
        checks = await client.classify(
            [
                ("demo_get", {"resource": "pods"}),
                ("demo_scale", {"name": "web", "replicas": 3}),
                ("demo_scale", {"name": "Bad Name!", "replicas": 3}),
                ("demo_exec", {"command": ["ls"], "mode": "read"}),
                ("demo_exec", {"command": ["rm"], "mode": "write"}),
                ("demo_nuke", {}),
            ]
        )
    assert [(c.valid, c.read_only, c.per_call) for c in checks] == [
        (True, True, False),
        (True, False, False),
        (False, False, False),
        (True, True, True),
        (True, False, True),
        (False, False, False),
    ]
    assert checks[2].error is not None
    assert "name:" in checks[2].error
    assert "Bad Name!" not in checks[2].error
    assert checks[5].error == "no tool named 'demo_nuke'"


async def test_the_listing_is_all_an_engine_needs_to_plan_with(client: ToolClient) -> None:
    async with client:
        specs = {spec.name: spec for spec in await client.list_tools()}
    assert "opsgate_classify" not in specs  # internal tools stay out of the model's view
    scale = specs["demo_scale"]
    assert scale.reaches_cluster
    assert scale.takes("replicas")
    assert not scale.annotations.read_only
