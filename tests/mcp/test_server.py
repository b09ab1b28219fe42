"""The tool server through the official client: schemas, annotations, reads, and the gate."""

from __future__ import annotations

from typing import Any

import pytest
from fastmcp import Client, FastMCP
from tests.fixtures.mcp import (
    APPROVAL_KEY,
    MemorySpentApprovals,
    RecordingRunner,
    cluster_fingerprint,
    demo_tools,
)

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.mcp.gate import APPROVAL_META_KEY
from opsgate.mcp.server import INTERNAL_META_KEY, create_server
from opsgate.tools import registry
from opsgate.tools.base import ToolEnv

NOW = 1_800_000_000.0
SCALE_ARGS: dict[str, Any] = {"name": "web", "replicas": 3, "context": "dev"}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(demo_env: ToolEnv, clock: Clock) -> FastMCP:
    return create_server(
        demo_env, demo_tools(), APPROVAL_KEY, clock=clock, spent=MemorySpentApprovals()
    )


def token_for(
    tool: str,
    args: dict[str, Any],
    context: str | None,
    *,
    approval_id: str = "appr-1",
    expires_at: float = NOW + 60,
    key: bytes = APPROVAL_KEY,
) -> str:
    bound = call_hash(tool, args, context, cluster_fingerprint(args.get("context")))
    claim = approval_token.ApprovalClaim(bound, approval_id, expires_at)
    return approval_token.mint(key, claim)


async def test_every_tool_is_listed_with_its_schema_and_all_four_annotations(
    server: FastMCP,
) -> None:
    tools = demo_tools()
    async with Client(server) as client:
        listed = {tool.name: tool for tool in await client.list_tools()}
    for name, tool in tools.items():
        served = listed[name]
        assert served.description == tool.description
        assert served.input_schema == tool.input_schema()
        assert served.annotations is not None
        hints = served.annotations.model_dump(by_alias=True, exclude_none=True)
        assert {key: hints[key] for key in tool.annotations.to_mcp()} == tool.annotations.to_mcp()
    assert listed["opsgate_preview"].annotations is not None
    assert listed["opsgate_preview"].annotations.read_only_hint is True
    assert listed["opsgate_verify"].annotations is not None
    assert listed["opsgate_verify"].annotations.read_only_hint is True


HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


async def test_every_registered_tool_reaches_the_model_described_with_all_four_hints(
    demo_env: ToolEnv,
) -> None:
    """What a model sees through `tools/list`: a description of each tool and of each of its
    parameters (but `context`, which the engine fills), and all four hints set explicitly."""
    server = create_server(
        demo_env, registry.all_tools(), APPROVAL_KEY, spent=MemorySpentApprovals()
    )
    async with Client(server) as client:
        listed = [t for t in await client.list_tools() if not (t.meta or {}).get(INTERNAL_META_KEY)]
    assert {tool.name for tool in listed} == set(registry.all_tools())
    problems: list[str] = []
    for tool in listed:
        if len((tool.description or "").split()) < 5:
            problems.append(f"{tool.name}: no description")
        hints = tool.annotations.model_dump(by_alias=True) if tool.annotations else {}
        problems += [f"{tool.name}: {hint} not set" for hint in HINTS if hints.get(hint) is None]
        for name, prop in tool.input_schema.get("properties", {}).items():
            if name != "context" and len(prop.get("description", "").split()) < 2:
                problems.append(f"{tool.name}.{name}: no description")
    assert problems == []


async def test_read_runs_without_a_token_and_returns_structured_output(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    async with Client(server) as client:
        result = await client.call_tool_mcp("demo_get", {"resource": "pods"})
    assert not result.is_error
    assert recording_runner.calls == [("kubectl", "get", "pods")]
    assert result.structured_content is not None
    assert result.structured_content["ok"] is True
    assert result.structured_content["exit_code"] == 0
    assert result.structured_content["command"] == "kubectl get pods"
    assert result.structured_content["data"] == {"argv": ["kubectl", "get", "pods"]}


async def test_bad_arguments_name_the_parameter_and_nothing_runs(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    async with Client(server) as client:
        result = await client.call_tool_mcp("demo_get", {"resource": "--all; rm -rf /"})
        unknown = await client.call_tool_mcp("demo_get", {"resource": "pods", "extra": 1})
    assert result.is_error
    assert "resource" in result.content[0].text  # type: ignore[union-attr]
    assert "rm -rf" not in result.content[0].text  # type: ignore[union-attr]
    assert unknown.is_error
    assert "extra" in unknown.content[0].text  # type: ignore[union-attr]
    assert recording_runner.calls == []


async def test_mutation_without_a_token_is_refused_and_nothing_runs(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    async with Client(server) as client:
        result = await client.call_tool_mcp("demo_scale", SCALE_ARGS)
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["error"] == "approval_required"
    assert recording_runner.calls == []


async def test_mutation_with_a_valid_token_runs_exactly_once(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    meta = {APPROVAL_META_KEY: token_for("demo_scale", SCALE_ARGS, "dev")}
    async with Client(server) as client:
        first = await client.call_tool_mcp("demo_scale", SCALE_ARGS, meta=meta)
        replay = await client.call_tool_mcp("demo_scale", SCALE_ARGS, meta=meta)
    assert not first.is_error
    assert replay.is_error
    assert "already used" in replay.content[0].text  # type: ignore[union-attr]
    assert recording_runner.calls == [("kubectl", "scale", "web", "--replicas=3")]


@pytest.mark.parametrize(
    ("token_args", "token_context", "expires_at", "key"),
    [
        pytest.param(
            {**SCALE_ARGS, "replicas": 30}, "dev", NOW + 60, APPROVAL_KEY, id="other-args"
        ),
        pytest.param(
            {**SCALE_ARGS, "context": "prod"}, "prod", NOW + 60, APPROVAL_KEY, id="other-ctx"
        ),
        pytest.param(SCALE_ARGS, "prod", NOW + 60, APPROVAL_KEY, id="hash-other-ctx"),
        pytest.param(SCALE_ARGS, "dev", NOW - 1, APPROVAL_KEY, id="expired"),
        pytest.param(SCALE_ARGS, "dev", NOW + 60, b"another-key", id="wrong-key"),
    ],
)
async def test_token_for_anything_else_is_refused(
    server: FastMCP,
    recording_runner: RecordingRunner,
    token_args: dict[str, Any],
    token_context: str,
    expires_at: float,
    key: bytes,
) -> None:
    token = token_for("demo_scale", token_args, token_context, expires_at=expires_at, key=key)
    async with Client(server) as client:
        result = await client.call_tool_mcp(
            "demo_scale", SCALE_ARGS, meta={APPROVAL_META_KEY: token}
        )
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["error"] == "approval_required"
    assert recording_runner.calls == []


async def test_token_for_another_tool_is_refused(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    token = token_for("demo_fail", SCALE_ARGS, "dev")
    async with Client(server) as client:
        result = await client.call_tool_mcp(
            "demo_scale", SCALE_ARGS, meta={APPROVAL_META_KEY: token}
        )
    assert result.is_error
    assert recording_runner.calls == []


async def test_malformed_token_is_refused(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    async with Client(server) as client:
        for token in ["", "garbage", "a.b", "e30.AAAA"]:
            result = await client.call_tool_mcp(
                "demo_scale", SCALE_ARGS, meta={APPROVAL_META_KEY: token}
            )
            assert result.is_error
    assert recording_runner.calls == []


async def test_token_expires_by_the_injected_clock(
    server: FastMCP, recording_runner: RecordingRunner, clock: Clock
) -> None:
    token = token_for("demo_scale", SCALE_ARGS, "dev", expires_at=NOW + 60)
    clock.now = NOW + 61
    async with Client(server) as client:
        result = await client.call_tool_mcp(
            "demo_scale", SCALE_ARGS, meta={APPROVAL_META_KEY: token}
        )
    assert "expired" in result.content[0].text  # type: ignore[union-attr]
    assert recording_runner.calls == []


async def test_exec_is_gated_only_when_its_call_writes(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    async with Client(server) as client:
        read = await client.call_tool_mcp("demo_exec", {"command": ["ls"], "mode": "read"})
        write = await client.call_tool_mcp("demo_exec", {"command": ["rm"], "mode": "write"})
    assert not read.is_error
    assert write.is_error
    assert recording_runner.calls == [("kubectl", "exec", "--", "ls")]


async def test_failed_tool_is_an_error_result(server: FastMCP) -> None:
    args = {"name": "web", "replicas": 1}
    token = token_for("demo_fail", args, None)
    async with Client(server) as client:
        result = await client.call_tool_mcp("demo_fail", args, meta={APPROVAL_META_KEY: token})
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["ok"] is False
    assert result.structured_content["exit_code"] == 3


async def test_preview_and_verify_run_the_recipes_without_a_token(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    async with Client(server) as client:
        preview = await client.call_tool_mcp(
            "opsgate_preview", {"tool": "demo_scale", "args": SCALE_ARGS}
        )
        verify = await client.call_tool_mcp(
            "opsgate_verify", {"tool": "demo_scale", "args": SCALE_ARGS}
        )
        missing = await client.call_tool_mcp(
            "opsgate_preview", {"tool": "demo_fail", "args": SCALE_ARGS}
        )
        bad = await client.call_tool_mcp(
            "opsgate_preview", {"tool": "demo_scale", "args": {"name": "Web!", "replicas": 1}}
        )
    assert not preview.is_error
    assert not verify.is_error
    assert missing.is_error
    assert bad.is_error
    assert recording_runner.calls == [
        ("kubectl", "scale", "web", "--dry-run=server"),
        ("kubectl", "rollout", "status", "web"),
    ]


async def test_an_unexpected_crash_is_an_error_without_its_details(server: FastMCP) -> None:
    async with Client(server) as client:
        result = await client.call_tool_mcp("demo_crash", {"resource": "pods"})
    assert result.is_error
    text = " ".join(block.text for block in result.content)  # type: ignore[union-attr]
    assert "hunter2" not in text


async def test_a_token_is_refused_once_its_context_points_at_another_cluster(
    server: FastMCP, recording_runner: RecordingRunner
) -> None:
    token = token_for("demo_scale", SCALE_ARGS, "dev")
    recording_runner.servers["dev"] = "https://somewhere-else.example"
    async with Client(server) as client:
        result = await client.call_tool_mcp(
            "demo_scale", SCALE_ARGS, meta={APPROVAL_META_KEY: token}
        )
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["error"] == "approval_required"
    assert recording_runner.calls == []
    assert recording_runner.config_views  # the server looked the cluster up itself


def _allows_null(node: Any) -> bool:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            return True
        return any(_allows_null(value) for value in node.values())
    if isinstance(node, list):
        return any(_allows_null(value) for value in node)
    return False


async def test_output_schemas_have_no_nullable_types_and_refusals_send_no_nulls(
    server: FastMCP,
) -> None:
    async with Client(server) as client:
        listed = await client.list_tools()
        refused = await client.call_tool_mcp("demo_scale", SCALE_ARGS)
    assert [tool.name for tool in listed if _allows_null(tool.output_schema)] == []
    assert refused.structured_content is not None
    typed = {"exit_code", "command", "ok", "truncated", "duration_ms", "error"}
    assert [k for k, v in refused.structured_content.items() if k in typed and v is None] == []
