"""Calling helm tools by name in tests, as the MCP server does (parse, then run a recipe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from opsgate.tools import helm
from opsgate.tools.base import Tool, ToolEnv, ToolOutput

TOOLS: dict[str, Tool] = {tool.name: tool for tool in helm.TOOLS}
CHARTS = Path(__file__).parent / "charts"
PODINFO = CHARTS / "podinfo"
"""A chart in the shape of the public podinfo chart, whose server-side dry run is over 64 KiB."""


async def call(
    env: ToolEnv,
    name: str,
    args: dict[str, Any],
    recipe: Literal["run", "preview", "verify"] = "run",
) -> ToolOutput:
    tool = TOOLS[name]
    fn = {"run": tool.run, "preview": tool.preview, "verify": tool.verify}[recipe]
    assert fn is not None, f"{name} has no {recipe}"
    return await fn(tool.parse(args), env)
