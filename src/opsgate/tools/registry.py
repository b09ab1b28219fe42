"""Every tool opsgate serves, by name, gathered from the family packages that are installed.

Called by the MCP server (to serve them) and the engine (to classify calls). The families are
a fixed list; a family package that does not exist yet is skipped, never guessed at.
"""

from __future__ import annotations

import importlib
import importlib.util

from opsgate.errors import ToolNotFound
from opsgate.tools.base import Tool

FAMILY_MODULES = (
    "opsgate.tools.kubectl",
    "opsgate.tools.helm",
    "opsgate.tools.argo",
    "opsgate.tools.jenkins",
)


def all_tools() -> dict[str, Tool]:
    """Every tool of every present family, keyed by name.

    Raises:
        ValueError: two tools share a name.
    """
    tools: dict[str, Tool] = {}
    for module_name in FAMILY_MODULES:
        spec = importlib.util.find_spec(module_name)
        # A directory without `__init__.py` yet (a family being written) is not a family.
        if spec is None or spec.origin is None:
            continue
        module = importlib.import_module(module_name)
        family_tools: list[Tool] = module.TOOLS
        for tool in family_tools:
            if tool.name in tools:
                raise ValueError(f"tool name {tool.name!r} is defined twice")
            tools[tool.name] = tool
    return tools


def get_tool(tools: dict[str, Tool], name: str) -> Tool:
    """The tool called `name`.

    Raises:
        ToolNotFound: there is none.
    """
    try:
        return tools[name]
    except KeyError:
        raise ToolNotFound(f"no tool named {name!r}") from None
