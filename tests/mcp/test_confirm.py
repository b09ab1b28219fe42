"""Standalone mode (no approval key): mutations run only when the client's user confirms."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from fastmcp import Client, FastMCP
from fastmcp.client.elicitation import ElicitResult
from mcp.shared.exceptions import MCPError
from tests.fixtures.mcp import RecordingRunner, demo_tools

from opsgate.mcp.server import create_server
from opsgate.tools.base import ToolEnv

SCALE_ARGS: dict[str, Any] = {"name": "web", "replicas": 3}
Era = Literal["auto", "legacy"]


@pytest.fixture
def standalone(demo_env: ToolEnv) -> FastMCP:
    return create_server(demo_env, demo_tools(), approval_key=None)


class ScriptedUser:
    """An elicitation handler that answers every question the same way and keeps the prompts."""

    def __init__(self, action: Literal["accept", "decline", "cancel"], confirm: bool = True):
        self.action = action
        self.confirm = confirm
        self.prompts: list[str] = []

    async def __call__(self, message: str, response_type: Any, params: Any, context: Any) -> Any:
        self.prompts.append(message)
        if self.action != "accept":
            return ElicitResult(action=self.action)
        fields = params.requested_schema["properties"]
        return {name: self.confirm for name in fields}


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_confirmed_mutation_runs_once_and_the_prompt_shows_tool_and_args(
    standalone: FastMCP, recording_runner: RecordingRunner, era: Era
) -> None:
    user = ScriptedUser("accept")
    async with Client(standalone, elicitation_handler=user, mode=era) as client:
        result = await client.call_tool_mcp("demo_scale", SCALE_ARGS)
    assert not result.is_error
    assert recording_runner.calls == [("kubectl", "scale", "web", "--replicas=3")]
    assert len(user.prompts) == 1
    assert "'demo_scale'" in user.prompts[0]
    assert '"replicas":3' in user.prompts[0]


@pytest.mark.parametrize("era", ["auto", "legacy"])
@pytest.mark.parametrize(
    ("action", "confirm"), [("decline", True), ("cancel", True), ("accept", False)]
)
async def test_declined_mutation_is_refused_and_nothing_runs(
    standalone: FastMCP,
    recording_runner: RecordingRunner,
    era: Era,
    action: Literal["accept", "decline", "cancel"],
    confirm: bool,
) -> None:
    user = ScriptedUser(action, confirm)
    async with Client(standalone, elicitation_handler=user, mode=era) as client:
        result = await client.call_tool_mcp("demo_scale", SCALE_ARGS)
    assert result.is_error
    assert result.structured_content is not None
    assert result.structured_content["error"] == "approval_required"
    assert recording_runner.calls == []


@pytest.mark.parametrize("era", ["auto", "legacy"])
async def test_client_that_cannot_elicit_gets_no_mutation(
    standalone: FastMCP, recording_runner: RecordingRunner, era: Era
) -> None:
    async with Client(standalone, mode=era) as client:
        try:
            result = await client.call_tool_mcp("demo_scale", SCALE_ARGS)
        except MCPError:
            pass
        else:
            assert result.is_error
    assert recording_runner.calls == []


async def test_reads_never_ask(standalone: FastMCP, recording_runner: RecordingRunner) -> None:
    user = ScriptedUser("decline")
    async with Client(standalone, elicitation_handler=user) as client:
        result = await client.call_tool_mcp("demo_get", {"resource": "pods"})
    assert not result.is_error
    assert user.prompts == []
    assert recording_runner.calls == [("kubectl", "get", "pods")]
