"""Building a `Tool` from a pure argv builder; shared by `reads.py` and `mutations.py`.

A builder is a function named after its tool (`k8s_get`) taking the validated parameters and
a `Target` and returning the argv. Its docstring is the description the model reads.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import Tool, ToolEnv, ToolFn, ToolOutput, ToolParams
from opsgate.tools.kubectl.argv import Target, run_argv

Builder = Callable[[Any, Target], list[str]]


READ = ToolAnnotations(read_only=True, destructive=False, idempotent=True, open_world=False)
"""Reads of the configured cluster: no side effects, a closed world."""


def runner_of(
    builder: Builder,
    *,
    stdin_field: str | None = None,
    ok_exit_codes: Sequence[int] = (0,),
    timeout_of: Callable[[Any], float] | None = None,
    post: Callable[[Any, ToolOutput], ToolOutput] | None = None,
) -> ToolFn:
    """A `ToolFn` that builds the argv, runs it, and optionally post-processes the output."""

    async def run(params: Any, env: ToolEnv) -> ToolOutput:
        argv = builder(params, Target.of(env, getattr(params, "context", None)))
        output = await run_argv(
            env,
            argv,
            stdin=getattr(params, stdin_field) if stdin_field else None,
            timeout_s=timeout_of(params) if timeout_of else None,
            ok_exit_codes=ok_exit_codes,
        )
        return post(params, output) if post else output

    return run


def description_of(builder: Callable[..., Any]) -> str:
    doc = inspect.getdoc(builder)
    if not doc:
        raise ValueError(f"builder {builder.__name__!r} has no docstring")
    return doc


def command_tool(
    builder: Builder,
    params: type[ToolParams],
    tool_annotations: ToolAnnotations,
    *,
    stdin_field: str | None = None,
    ok_exit_codes: Sequence[int] = (0,),
    timeout_of: Callable[[Any], float] | None = None,
    timeout_s: float | None = None,
    post: Callable[[Any, ToolOutput], ToolOutput] | None = None,
    preview: ToolFn | None = None,
    verify: ToolFn | None = None,
    read_only_when: Callable[[Any], bool] | None = None,
) -> Tool:
    """A kubectl `Tool` named after its builder, described by the builder's docstring."""
    return Tool(
        name=builder.__name__,
        family="kubectl",
        description=description_of(builder),
        params=params,
        annotations=tool_annotations,
        run=runner_of(
            builder,
            stdin_field=stdin_field,
            ok_exit_codes=ok_exit_codes,
            timeout_of=timeout_of,
            post=post,
        ),
        preview=preview,
        verify=verify,
        read_only_when=read_only_when,
        timeout_s=timeout_s,
    )
