"""Classification policy over the real registry, and what enters the model's context.

The engine knows the tools only as the tool server lists them over MCP; the calls are checked
by the server's `opsgateclassify_call`, as in a run (real registry, real server, in-memory client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from opsgate.domain.calls import CallCheck, ToolAnnotations, ToolSpec
from opsgate.domain.canonical import call_hash
from opsgate.engine import factory, history, policy
from opsgate.engine.models.base import ModelMessage, ModelToolCall
from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.tools import registry
from opsgate.tools.base import ConfiguredJenkins, ToolEnv
from tests.fixtures.mcp import APPROVAL_KEY, MemorySpentApprovals, RecordingRunner

ALLOWED = ["prod-eu", "staging"]
Classify = Callable[[str, dict[str, Any]], Awaitable[policy.ClassifiedCall]]


@pytest.fixture
async def classify_call() -> AsyncIterator[Classify]:
    env = ToolEnv(
        runner=RecordingRunner(),
        kubectl=Path("/nonexistent/kubectl"),
        helm=Path("/nonexistent/helm"),
        jenkins=ConfiguredJenkins({}),
    )
    async with ToolClient.in_memory(
        create_server(env, registry.all_tools(), APPROVAL_KEY, spent=MemorySpentApprovals())
    ) as client:
        specs = await factory.tool_specs(client)

        async def classify(tool: str, args: dict[str, Any]) -> policy.ClassifiedCall:
            placed = policy.place(specs, tool, args, ALLOWED)
            [check] = await client.classify([(tool, placed.args)]) if not placed.error else [None]
            return policy.classify(specs, "c1", placed, check)

        yield classify


async def test_reads_are_reads_and_the_context_is_filled_by_the_engine(
    classify_call: Classify,
) -> None:
    call = await classify_call("k8s_get", {"resource": "pods", "namespace": "shop"})
    assert call.error is None
    assert call.classification == "read"
    assert call.context == "prod-eu"
    assert call.args["context"] == "prod-eu"
    assert call.call_hash == call_hash("k8s_get", call.args, "prod-eu")


async def test_mutations_and_destructive_calls_are_marked(classify_call: Classify) -> None:
    scale = await classify_call("k8s_scale", {"resource": "deployment/api", "replicas": 2})
    assert (scale.classification, scale.destructive) == ("mutation", False)
    delete = await classify_call("k8s_delete", {"resource": "deployment/api"})
    assert (delete.classification, delete.destructive) == ("mutation", True)


async def test_exec_is_classified_per_call(classify_call: Classify) -> None:
    reading = await classify_call("k8s_exec", {"pod": "api-1", "command": ["cat", "/etc/hostname"]})
    writing = await classify_call("k8s_exec", {"pod": "api-1", "command": ["rm", "-rf", "/data"]})
    assert reading.classification == "read"
    assert writing.classification == "mutation"


async def test_a_context_outside_the_conversation_is_refused(classify_call: Classify) -> None:
    call = await classify_call("k8s_get", {"resource": "pods", "context": "prod-us"})
    assert call.error is not None
    assert "'prod-us' is not allowed" in call.error
    allowed = await classify_call("k8s_get", {"resource": "pods", "context": "staging"})
    assert allowed.error is None
    assert allowed.context == "staging"


async def test_unknown_tools_and_bad_arguments_fail_closed_without_echoing_values(
    classify_call: Classify,
) -> None:
    unknown = await classify_call("k8s_nuke", {})
    assert unknown.error == "no tool named 'k8s_nuke'"
    assert unknown.classification == "mutation"
    bad = await classify_call("k8s_scale", {"resource": "deployment/api", "replicas": "; rm -rf /"})
    assert bad.error is not None
    assert "replicas" in bad.error
    assert "rm -rf" not in bad.error
    extra = await classify_call("k8s_get", {"resource": "pods", "kubeconfig": "/etc/shadow"})
    assert extra.error is not None
    assert "kubeconfig" in extra.error


def test_a_tool_the_listing_does_not_call_read_only_is_a_change_whatever_the_server_says() -> None:
    """Fail closed: missing or false `readOnlyHint` makes a mutation unless the tool decides
    per call; the server's check alone never turns a change into a read."""
    unhinted = ToolAnnotations(
        readOnlyHint=False, destructiveHint=True, idempotentHint=False, openWorldHint=True
    )
    specs = {"t": ToolSpec(name="t", description="", input_schema={}, annotations=unhinted)}
    placed = policy.place(specs, "t", {}, [])
    says_read = CallCheck(valid=True, read_only=True)
    assert policy.classify(specs, "c", placed, says_read).classification == "mutation"
    per_call = CallCheck(valid=True, read_only=True, per_call=True)
    assert policy.classify(specs, "c", placed, per_call).classification == "read"
    hinted = {
        "t": specs["t"].model_copy(
            update={"annotations": unhinted.model_copy(update={"read_only": True})}
        )
    }
    says_change = CallCheck(valid=True, read_only=False)
    assert policy.classify(hinted, "c", placed, says_change).classification == "mutation"


def test_cap_text_keeps_head_and_tail_and_says_what_was_cut() -> None:
    text = "HEAD" + "x" * 10_000 + "TAIL"
    capped = history.cap_text(text, 500)
    assert len(capped) <= 500
    assert capped.startswith("HEAD")
    assert capped.endswith("TAIL")
    assert "characters cut" in capped
    assert history.cap_text("short", 500) == "short"


def test_trimming_keeps_system_prompt_and_request_and_shortens_old_results() -> None:
    call = ModelToolCall(id="t1", name="k8s_logs", args={})
    messages = [
        ModelMessage(role="system", content="S" * 400),
        ModelMessage(role="user", content="old question " * 200),
        ModelMessage(role="assistant", content="old answer " * 200),
        ModelMessage(role="user", content="current request"),
        ModelMessage(role="assistant", content="", tool_calls=[call]),
        ModelMessage(role="tool", content="log line\n" * 2000, tool_call_id="t1"),
    ]
    trimmed = history.trim_history(messages, budget_tokens=400)
    assert trimmed[0] == messages[0]
    assert [m.content for m in trimmed if m.role == "user"] == ["current request"]
    assert trimmed[-1].tool_call_id == "t1"
    assert trimmed[-1].content == history.TRIMMED_NOTE
    assert history.trim_history(messages, budget_tokens=1_000_000) == messages
