"""One way to define a tool, whatever its family: `define` builds every `Tool` opsgate serves.

Called by each family's `reads.py` and `mutations.py`. A family supplies an `Action` (what
calling the tool does: `command.Argv` for one kubectl/helm command, `Function` for anything
else, argo's patch planner, Jenkins's HTTP body), and `define` names the tool after the
action's function and describes it with that function's docstring, so the name the model calls
and the text it reads live with the code they describe.

A mutation must declare its preview, its verify and what that verify proves (`verifies`).
`define` wraps its preview so the result always carries a `PreviewReport` with the exact
command the approved call will run, and a dry run that errored is reported `failed`, never as
a preview that went well; and its verify so the result always carries a `Verification` whose
verdict decides `ok`, and a verify that errored is `failed`, never passed. A mutation may also
declare how it is undone (`undo`, a planner of `tools.undo`): its snapshot recipe, run just
before an approved call, stores the targets as they were and the call that restores them.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from opsgate.domain.calls import Family, ToolAnnotations
from opsgate.errors import OpsgateError, ToolFailed, truncate
from opsgate.tools import undo as undoing
from opsgate.tools.base import (
    CommandFn,
    PreviewReport,
    PreviewState,
    Tool,
    ToolEnv,
    ToolFn,
    ToolOutput,
    ToolParams,
    Verification,
)


class Action(Protocol):
    """What calling a tool does, built by a family around one function named after the tool."""

    @property
    def fn(self) -> Callable[..., Any]:
        """The function the tool is named after; its docstring is the tool's description."""
        ...

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput: ...

    async def command(self, params: Any, env: ToolEnv) -> str | None:
        """The exact command `run` would carry out, for display; None if it runs no command."""
        ...


@dataclass(frozen=True)
class Function:
    """A tool whose run is one async function of the parameters and the `ToolEnv` (a read that
    combines several commands, or runs none)."""

    fn: ToolFn

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput:
        return await self.fn(params, env)

    async def command(self, params: Any, env: ToolEnv) -> str | None:
        return None


def description_of(fn: Callable[..., Any]) -> str:
    """The docstring of `fn`, its paragraphs apart ("\n\n") and each folded to one line: the
    source's wrapping means nothing to a model, a paragraph break does."""
    doc = inspect.getdoc(fn)
    if not doc:
        raise ValueError(f"{fn.__name__!r} has no docstring to describe its tool")
    paragraphs = (" ".join(part.split()) for part in re.split(r"\n\s*\n", doc))
    return "\n\n".join(part for part in paragraphs if part)


def previewed(
    output: ToolOutput, state: PreviewState, labels: dict[str, str] | None = None
) -> ToolOutput:
    """A preview recipe's result: `output` (the human diff) carrying its `PreviewReport`."""
    report = PreviewReport(state=state, labels=labels)
    return dataclasses.replace(output, ok=state != "failed", data=report)


def concluded(verification: Verification) -> ToolOutput:
    """A verify recipe's result: the verification as text for the model, and as data; `ok`
    only when it is verified."""
    lines = [verification.summary, *(f"  {line}" for line in verification.details)]
    if verification.next_step:
        lines.append(f"next step: {verification.next_step}")
    if verification.rollback is not None:
        call = json.dumps(verification.rollback.args, sort_keys=True)
        lines.append(f"rollback (needs approval): {verification.rollback.tool} {call}")
    return ToolOutput(
        ok=verification.verdict == "verified", text="\n".join(lines), data=verification
    )


def define(
    family: Family,
    action: Action,
    params: type[ToolParams],
    annotations: ToolAnnotations,
    *,
    preview: ToolFn | None = None,
    verify: ToolFn | None = None,
    verifies: str | None = None,
    read_only_when: Callable[[Any], bool] | None = None,
    undo: undoing.UndoPlanner | None = None,
) -> Tool:
    """The `Tool` named after `action.fn`, described by its docstring.

    Args:
        family: which family serves it.
        action: what a call does.
        params: the parameter model (field docstrings become the schema's descriptions).
        annotations: all four MCP hints, set deliberately.
        preview: for a mutation, a dry run that changes nothing, returning `previewed(...)`.
        verify: for a mutation, the check run after it.
        verifies: for a mutation, one line saying what `verify` proves.
        read_only_when: for tools whose nature depends on the call (`k8s_exec`).
        undo: for a mutation, reads its targets before it runs and plans the call restoring
            them, or says why none can (`undo.impossible`); without it, the call offers no undo.

    Raises:
        ValueError: a mutation without its preview, verify or `verifies` (or a read with them,
            or with an undo).
    """
    name = action.fn.__name__
    mutating = not annotations.read_only or read_only_when is not None
    declared = (preview is not None, verify is not None, bool(verifies and verifies.strip()))
    if mutating and not all(declared):
        raise ValueError(f"mutation {name!r} must declare its preview, verify and verifies")
    if not mutating and (any(declared) or undo is not None):
        raise ValueError(f"read {name!r} has nothing to preview, verify or undo")
    if mutating and isinstance(action, Function):
        raise ValueError(f"mutation {name!r} must run a command it can show on its approval card")
    command: CommandFn | None = None
    if mutating:
        command = _command_of(name, action)
    return Tool(
        name=name,
        family=family,
        description=description_of(action.fn),
        params=params,
        annotations=annotations,
        run=action.run,
        preview=_reported(preview, command) if preview is not None and command else None,
        verify=_checked(verify) if verify is not None else None,
        read_only_when=read_only_when,
        verifies=verifies,
        command=command,
        snapshot=undoing.snapshotting(undo) if undo is not None else None,
    )


def _command_of(name: str, action: Action) -> CommandFn:
    async def command(params: Any, env: ToolEnv) -> str:
        shown = await action.command(params, env)
        if shown is None:
            raise ToolFailed(f"mutation {name!r} runs no command it can show")
        return shown

    return command


def _reported(preview: ToolFn, command: CommandFn) -> ToolFn:
    """`preview` with the exact command in its report; any error of it is a failed dry run."""

    async def run(params: Any, env: ToolEnv) -> ToolOutput:
        try:
            output = await preview(params, env)
        except OpsgateError as e:
            output = previewed(ToolOutput(ok=False, text=f"the dry run failed: {e}"), "failed")
        if not isinstance(output.data, PreviewReport):
            if output.ok:
                raise TypeError(f"a preview returned {type(output.data).__name__}, not a report")
            output = previewed(output, "failed")  # e.g. Jenkins answered 404
        try:
            shown = await command(params, env)
        except OpsgateError as e:
            failed = f"{output.text}\nthe command to run could not be worked out: {e}"
            return previewed(dataclasses.replace(output, text=truncate(failed)), "failed")
        report = output.data.model_copy(update={"command": shown})
        return dataclasses.replace(output, data=report)

    return run


def _checked(verify: ToolFn) -> ToolFn:
    """`verify` held to its contract: a `Verification` in its data, `ok` only when verified;
    a verify that could not run failed (it proved nothing), never passed."""

    async def run(params: Any, env: ToolEnv) -> ToolOutput:
        try:
            output = await verify(params, env)
        except OpsgateError as e:
            return concluded(
                Verification(
                    verdict="failed",
                    summary=f"the verification could not run: {truncate(str(e), 500)}",
                    next_step="check the outcome by hand before relying on it",
                )
            )
        if not isinstance(output.data, Verification):
            if output.ok:
                raise TypeError(f"a verify returned {type(output.data).__name__}, not a result")
            # A read it needed failed (e.g. Jenkins answered 404): it proved nothing.
            reason = truncate(output.text.strip() or "the check failed", 500)
            return concluded(Verification(verdict="failed", summary=reason))
        return dataclasses.replace(output, ok=output.data.verdict == "verified")

    return run
