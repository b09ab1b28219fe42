"""One way to define a tool, whatever its family: `define` builds every `Tool` opsgate serves.

Called by each family's `reads.py` and `mutations.py`. A family supplies an `Action` (what
calling the tool does: `command.Argv` for one kubectl/helm command, `Function` for anything
else, argo's patch planner, Jenkins's HTTP body), and `define` names the tool after the
action's function and describes it with that function's docstring, so the name the model calls
and the text it reads live with the code they describe.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from opsgate.domain.calls import Family, ToolAnnotations
from opsgate.tools.base import Tool, ToolEnv, ToolFn, ToolOutput, ToolParams


class Action(Protocol):
    """What calling a tool does, built by a family around one function named after the tool."""

    @property
    def fn(self) -> Callable[..., Any]:
        """The function the tool is named after; its docstring is the tool's description."""
        ...

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput: ...


@dataclass(frozen=True)
class Function:
    """A tool whose run is one async function of the parameters and the `ToolEnv`."""

    fn: ToolFn

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput:
        return await self.fn(params, env)


def description_of(fn: Callable[..., Any]) -> str:
    """The docstring of `fn` as one paragraph: line breaks of the source mean nothing to a model."""
    doc = inspect.getdoc(fn)
    if not doc:
        raise ValueError(f"{fn.__name__!r} has no docstring to describe its tool")
    return " ".join(doc.split())


def define(
    family: Family,
    action: Action,
    params: type[ToolParams],
    annotations: ToolAnnotations,
    *,
    preview: ToolFn | None = None,
    verify: ToolFn | None = None,
    read_only_when: Callable[[Any], bool] | None = None,
) -> Tool:
    """The `Tool` named after `action.fn`, described by its docstring.

    Args:
        family: which family serves it.
        action: what a call does.
        params: the parameter model (field docstrings become the schema's descriptions).
        annotations: all four MCP hints, set deliberately.
        preview: for a mutation, a dry run that changes nothing.
        verify: for a mutation, the check run after it.
        read_only_when: for tools whose nature depends on the call (`k8s_exec`).
    """
    return Tool(
        name=action.fn.__name__,
        family=family,
        description=description_of(action.fn),
        params=params,
        annotations=annotations,
        run=action.run,
        preview=preview,
        verify=verify,
        read_only_when=read_only_when,
    )
