"""Progress of long calls: a tool's own reports and the server's heartbeat, over real MCP."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import Field
from tests.fixtures.mcp import APPROVAL_KEY, MemorySpentApprovals, RecordingRunner

from opsgate.domain.calls import ToolAnnotations
from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.tools.base import Tool, ToolEnv, ToolOutput, ToolParams

HINTS = ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
)


class WaitParams(ToolParams):
    steps: int = Field(ge=1, le=5)
    """How many rounds to wait."""


async def _wait(params: WaitParams, env: ToolEnv) -> ToolOutput:
    for step in range(params.steps):
        await env.report(f"round {step + 1} of {params.steps}, token=Bearer s3cr3t.v4lue.x")
        await asyncio.sleep(0.06)
    return ToolOutput(ok=True, text="waited")


def _client(heartbeat_s: float) -> ToolClient:
    env = ToolEnv(runner=RecordingRunner(), kubectl=Path("/nonexistent"), helm=Path("/x"))
    tools = {"wait": Tool("wait", "argo", "Wait a little.", WaitParams, HINTS, _wait)}
    return ToolClient.in_memory(
        create_server(
            env, tools, APPROVAL_KEY, heartbeat_s=heartbeat_s, spent=MemorySpentApprovals()
        )
    )


async def test_a_followed_call_hears_the_tools_reports_and_the_heartbeat() -> None:
    heard: list[str] = []

    async def on_progress(text: str) -> None:
        heard.append(text)

    async with _client(heartbeat_s=0.05) as client:
        result = await client.call("wait", {"steps": 3}, on_progress=on_progress)

    assert (result.ok, result.text) == (True, "waited")
    rounds = [text for text in heard if text.startswith("round")]
    assert [text.split(",")[0] for text in rounds] == [
        "round 1 of 3",
        "round 2 of 3",
        "round 3 of 3",
    ]
    assert any(text.startswith("still running (") for text in heard)
    assert not any("s3cr3t" in text for text in heard), heard


async def test_a_call_nobody_follows_runs_without_progress() -> None:
    async with _client(heartbeat_s=0.01) as client:
        result = await client.call("wait", {"steps": 2})
    assert (result.ok, result.text) == (True, "waited")
