"""The common head of every kubectl argv, and running an argv into a `ToolOutput`.

Used by `reads.py` and `mutations.py`. Every argv starts with the kubectl binary's full path,
then `--kubeconfig` (when configured) and `--context` explicitly, so a call never depends on
the environment's current context.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from opsgate.errors import ToolTimeout, truncate
from opsgate.tools.base import CommandResult, ToolEnv, ToolOutput


@dataclass(frozen=True)
class Target:
    """Which binary, kubeconfig and context a call uses; derived from `ToolEnv` and params."""

    kubectl: str
    kubeconfig: str | None
    context: str | None

    @classmethod
    def of(cls, env: ToolEnv, context: str | None) -> Target:
        return cls(
            kubectl=str(env.kubectl),
            kubeconfig=str(env.kubeconfig) if env.kubeconfig is not None else None,
            context=context if context is not None else env.default_context,
        )

    def head(self) -> list[str]:
        argv = [self.kubectl]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", self.kubeconfig]
        if self.context is not None:
            argv += ["--context", self.context]
        return argv


def namespace_args(namespace: str | None, all_namespaces: bool = False) -> list[str]:
    if all_namespaces:
        return ["--all-namespaces"]
    if namespace is not None:
        return ["--namespace", namespace]
    return []


def display(argv: Sequence[str]) -> str:
    """The argv as one line for people to read (never executed)."""
    return shlex.join(argv)


def output_from(result: CommandResult, *, ok_exit_codes: Sequence[int] = (0,)) -> ToolOutput:
    """A `ToolOutput` from a finished command: stdout, then stderr, then any failure marker.

    Raises:
        ToolTimeout: the command was killed at its deadline.
    """
    if result.timed_out:
        command = truncate(display(result.argv), 300)
        raise ToolTimeout(f"{command!r} timed out after {result.duration_ms} ms")
    ok = result.exit_code in ok_exit_codes
    parts = [result.stdout] if result.stdout else []
    if result.stdout_truncated:
        shown = len(result.stdout.encode())
        parts.append(f"[stdout truncated: showing {shown} of {result.stdout_size} bytes]")
    # Always shown: kubectl puts admission and deprecation warnings there on success too.
    if result.stderr:
        parts.append(result.stderr)
    if result.stderr_truncated:
        parts.append(f"[stderr truncated: {result.stderr_size} bytes in all]")
    if not ok:
        parts.append(f"[exit code {result.exit_code}]")
    return ToolOutput(
        ok=ok,
        text="\n".join(part.rstrip("\n") for part in parts),
        exit_code=result.exit_code,
        truncated=result.stdout_truncated or result.stderr_truncated,
        duration_ms=result.duration_ms,
        command=display(result.argv),
    )


async def run_argv(
    env: ToolEnv,
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    timeout_s: float | None = None,
    ok_exit_codes: Sequence[int] = (0,),
) -> ToolOutput:
    """Run one kubectl argv through the injected runner."""
    result = await env.runner.run(
        argv,
        stdin=stdin.encode("utf-8") if stdin is not None else None,
        timeout_s=timeout_s if timeout_s is not None else env.command_timeout_s,
    )
    return output_from(result, ok_exit_codes=ok_exit_codes)
