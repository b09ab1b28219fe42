"""Calling kubectl tools by name in tests, as the MCP server does (parse, then run a recipe)."""

from __future__ import annotations

from typing import Any, Literal

from opsgate.tools import kubectl
from opsgate.tools.base import Tool, ToolEnv, ToolOutput

TOOLS: dict[str, Tool] = {tool.name: tool for tool in kubectl.TOOLS}


async def call(
    env: ToolEnv,
    name: str,
    args: dict[str, Any],
    what: Literal["run", "preview", "verify"] = "run",
) -> ToolOutput:
    tool = TOOLS[name]
    fn = {"run": tool.run, "preview": tool.preview, "verify": tool.verify}[what]
    assert fn is not None, f"{name} has no {what}"
    return await fn(tool.parse(args), env)
