"""Running a helm argv into a `ToolOutput`, and the private temp file that carries values YAML.

Used by `reads.py`, `mutations.py` and `recipes.py`. Output is capped and redacted by the
injected runner; this module adds helm's environment and the values-file lifecycle.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import CommandResult, Tool, ToolEnv, ToolFn, ToolOutput, ToolParams
from opsgate.tools.helm.argv import Target, helm_environment
from opsgate.tools.kubectl import argv as kubectl_argv

_MARGIN_S = 15.0
"""Extra seconds the runner allows beyond helm's own `--timeout`, so helm reports first."""


async def run_result(
    env: ToolEnv, argv: Sequence[str], *, timeout_s: float | None = None
) -> CommandResult:
    """Run one helm argv with helm's environment; the raw (redacted) result."""
    return await env.runner.run(
        argv,
        timeout_s=timeout_s if timeout_s is not None else env.command_timeout_s,
        env=helm_environment(env),
    )


async def run_helm(
    env: ToolEnv,
    argv: Sequence[str],
    *,
    timeout_s: float | None = None,
    ok_exit_codes: Sequence[int] = (0,),
) -> ToolOutput:
    """Run one helm argv into a `ToolOutput` (stderr shown when it failed).

    Raises:
        ToolTimeout: helm was killed at the deadline.
    """
    result = await run_result(env, argv, timeout_s=timeout_s)
    return kubectl_argv.output_from(result, ok_exit_codes=ok_exit_codes)


def deadline_for(params: Any, env: ToolEnv) -> float:
    """The runner's deadline: helm's own `timeout_s` plus a margin, else the default."""
    timeout_s = getattr(params, "timeout_s", None)
    if timeout_s is None:
        return env.command_timeout_s
    return float(timeout_s) + _MARGIN_S


@contextlib.contextmanager
def values_file(values_yaml: str | None) -> Iterator[str | None]:
    """A private file holding `values_yaml` for `--values`, removed when the block ends."""
    if values_yaml is None:
        yield None
        return
    directory = tempfile.mkdtemp(prefix="opsgate-helm-")
    try:
        path = Path(directory) / "values.yaml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(values_yaml)
        yield str(path)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


SimpleBuilder = Callable[[Any, Target], list[str]]
ValuesBuilder = Callable[[Any, Target, "str | None"], list[str]]


def simple_run(builder: SimpleBuilder) -> ToolFn:
    """A `ToolFn` running `builder`'s argv."""

    async def run(params: Any, env: ToolEnv) -> ToolOutput:
        argv = builder(params, Target.of(env, getattr(params, "context", None)))
        return await run_helm(env, argv, timeout_s=deadline_for(params, env))

    return run


def values_run(builder: ValuesBuilder) -> ToolFn:
    """A `ToolFn` running `builder`'s argv with the values YAML in a temp file."""

    async def run(params: Any, env: ToolEnv) -> ToolOutput:
        target = Target.of(env, getattr(params, "context", None))
        with values_file(params.values_yaml) as path:
            argv = builder(params, target, path)
            return await run_helm(env, argv, timeout_s=deadline_for(params, env))

    return run


def helm_tool(
    name: str,
    description: str,
    params: type[ToolParams],
    annotations: ToolAnnotations,
    run: ToolFn,
    *,
    preview: ToolFn | None = None,
    verify: ToolFn | None = None,
) -> Tool:
    return Tool(
        name=name,
        family="helm",
        description=description,
        params=params,
        annotations=annotations,
        run=run,
        preview=preview,
        verify=verify,
    )
