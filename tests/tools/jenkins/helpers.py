"""Running Jenkins tools by name in tests, the way the MCP server does (parse, then run)."""

from __future__ import annotations

from typing import Any

from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from opsgate.tools.jenkins import TOOLS

BY_NAME: dict[str, Tool] = {tool.name: tool for tool in TOOLS}


async def run(env: ToolEnv, name: str, **args: Any) -> ToolOutput:
    tool = BY_NAME[name]
    return await tool.run(tool.parse({"server": "sandbox", **args}), env)


async def preview(env: ToolEnv, name: str, **args: Any) -> ToolOutput:
    tool = BY_NAME[name]
    assert tool.preview is not None
    return await tool.preview(tool.parse({"server": "sandbox", **args}), env)


async def verify(env: ToolEnv, name: str, **args: Any) -> ToolOutput:
    tool = BY_NAME[name]
    assert tool.verify is not None
    return await tool.verify(tool.parse({"server": "sandbox", **args}), env)
