"""A scripted command runner for tool tests: records every argv and returns queued results.

A real object with behaviour (it answers, in order, what the test scripted), standing in for
the subprocess edge only; everything above it (argv building, output shaping) runs for real.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opsgate.tools.base import CommandResult, ToolEnv


@dataclass
class Call:
    argv: tuple[str, ...]
    stdin: bytes | None
    timeout_s: float | None
    stdout_cap_bytes: int | None = None


@dataclass
class ScriptedRunner:
    """Answers each `run` with the next scripted result (a default success when none is left)."""

    results: list[CommandResult] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def script(
        self, *, exit_code: int = 0, stdout: str = "", stderr: str = "", timed_out: bool = False
    ) -> None:
        self.results.append(
            CommandResult(
                argv=(),
                exit_code=exit_code,
                stdout=stdout,
                stderr=stderr,
                duration_ms=1,
                timed_out=timed_out,
            )
        )

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
        stdout_cap_bytes: int | None = None,
    ) -> CommandResult:
        self.calls.append(Call(tuple(argv), stdin, timeout_s, stdout_cap_bytes))
        scripted = self.results.pop(0) if self.results else None
        if scripted is None:
            return CommandResult(argv=tuple(argv), exit_code=0, stdout="", stderr="", duration_ms=1)
        return CommandResult(
            argv=tuple(argv),
            exit_code=scripted.exit_code,
            stdout=scripted.stdout,
            stderr=scripted.stderr,
            duration_ms=scripted.duration_ms,
            timed_out=scripted.timed_out,
        )


def env_with(runner: ScriptedRunner, *, context: str | None = "demo") -> ToolEnv:
    return ToolEnv(
        runner=runner,
        kubectl=Path("/opt/kubectl"),
        helm=Path("/opt/helm"),
        kubeconfig=Path("/cfg/kubeconfig"),
        default_context=context,
    )
