"""The Jenkins family served by the real MCP server, through the real MCP client, on the sandbox."""

from __future__ import annotations

import time
from typing import Any

from fastmcp import Client, FastMCP

from opsgate.domain import approval_token
from opsgate.domain.canonical import call_hash
from opsgate.mcp.gate import APPROVAL_META_KEY
from opsgate.mcp.server import PREVIEW_TOOL, VERIFY_TOOL, create_server
from opsgate.tools.base import ToolEnv
from tests.fixtures.mcp import MemorySpentApprovals
from tests.tools.jenkins.helpers import BY_NAME

KEY = b"jenkins-served-test-key-0123456789"
TRIGGER_ARGS: dict[str, Any] = {
    "server": "sandbox",
    "job": "shop-build",
    "parameters": {"BRANCH": "served-via-mcp"},
}


def served(env: ToolEnv) -> FastMCP:
    return create_server(env, BY_NAME, KEY, spent=MemorySpentApprovals())


def approval_meta(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    claim = approval_token.ApprovalClaim(call_hash(tool, args, None), "appr-j1", time.time() + 60)
    return {APPROVAL_META_KEY: approval_token.mint(KEY, claim)}


async def next_build_number(client: Client[Any]) -> int:
    job = await client.call_tool_mcp("jenkins_get_job", {"server": "sandbox", "job": "shop-build"})
    assert job.structured_content is not None
    number: int = job.structured_content["data"]["next_build_number"]
    return number


async def test_every_jenkins_tool_is_listed_with_its_annotations(jenkins_env: ToolEnv) -> None:
    async with Client(served(jenkins_env)) as client:
        listed = {tool.name: tool for tool in await client.list_tools()}
    for name, tool in BY_NAME.items():
        annotations = listed[name].annotations
        assert annotations is not None
        hints = annotations.model_dump(by_alias=True, exclude_none=True)
        assert {k: hints[k] for k in tool.annotations.to_mcp()} == tool.annotations.to_mcp()
        assert hints["openWorldHint"] is True


async def test_a_trigger_without_approval_runs_nothing(jenkins_env: ToolEnv) -> None:
    async with Client(served(jenkins_env)) as client:
        before = await next_build_number(client)
        refused = await client.call_tool_mcp("jenkins_trigger_build", TRIGGER_ARGS)
        after = await next_build_number(client)
    assert refused.is_error
    assert refused.structured_content is not None
    assert refused.structured_content["error"] == "approval_required"
    assert after == before


async def test_an_approved_trigger_runs_once_and_its_recipes_check_it(
    jenkins_env: ToolEnv,
) -> None:
    meta = approval_meta("jenkins_trigger_build", TRIGGER_ARGS)
    recipe_args = {"tool": "jenkins_trigger_build", "args": TRIGGER_ARGS}
    async with Client(served(jenkins_env)) as client:
        shown = await client.call_tool_mcp(PREVIEW_TOOL, recipe_args)
        ran = await client.call_tool_mcp("jenkins_trigger_build", TRIGGER_ARGS, meta=meta)
        replay = await client.call_tool_mcp("jenkins_trigger_build", TRIGGER_ARGS, meta=meta)
        checked = await client.call_tool_mcp(VERIFY_TOOL, recipe_args)
    assert "BRANCH='served-via-mcp'" in shown.content[0].text
    assert not ran.is_error
    assert ran.structured_content is not None
    number = ran.structured_content["data"]["build_number"]
    assert replay.is_error
    assert checked.structured_content is not None
    assert checked.structured_content["data"] == {
        "verdict": "verified",
        "summary": f"shop-build #{number} finished: SUCCESS.",
        "details": [],
        "next_step": None,
        "rollback": None,
        "proves": BY_NAME["jenkins_trigger_build"].verifies,
    }
