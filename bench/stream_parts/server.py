"""The opsgate server process of `bench/stream.py`: the real app over an in-memory runner.

SQLite store, engine, in-process MCP tool server and the scripted model, serving one
read-only tool (`b_get`) answered from memory, so the bench measures opsgate's own path:
run -> store -> bus -> SSE -> client. Two scripts: `status` answers at once (the saturated
round), `paced` like a real model (a turn every 0.5-2 s, 30 tokens/s; `models.scripted.Pace`).
With a profile path it runs under cProfile and writes the profile on SIGUSR1.

    .venv/bin/python bench/stream_parts/server.py PORT DATA_DIR [PROFILE]

(started by bench/stream.py).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import Field

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import CommandResult, Tool, ToolEnv, ToolOutput, ToolParams

SETUP_TOKEN = "bench-setup-token-0123456789"  # noqa: S105 - a local throwaway
PACED_TEXT = " ".join(["Checking"] + ["the frontend and api deployments"] * 5) + "."
ANSWER_TEXT = " ".join(["Both"] + ["deployments are running with two replicas"] * 6) + "."
READS = "[{name: b_get, args: {name: frontend}}, {name: b_get, args: {name: api}}]"
SCRIPT = f"""
scripts:
  - match: "status"
    turns:
      - text: "Checking both deployments."
        tool_calls: {READS}
      - text: "Both deployments are running."
  - match: "paced"
    pace: {{think_s: [0.5, 2.0], tokens_per_s: 30}}
    turns:
      - text: "{PACED_TEXT}"
        tool_calls: {READS}
      - text: "{ANSWER_TEXT}"
"""


class MemoryRunner:
    """Answers every argv at once from memory (no subprocess)."""

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout_s: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        return CommandResult(
            argv=tuple(argv), exit_code=0, stdout=f"{argv[-1]} replicas=2", stderr="", duration_ms=0
        )


class NameParams(ToolParams):
    name: str = Field(pattern=r"^[a-z0-9-]+$")
    context: str | None = None


async def _get(params: NameParams, env: ToolEnv) -> ToolOutput:
    result = await env.runner.run(["get", params.name])
    return ToolOutput(ok=True, text=result.stdout, exit_code=0)


def bench_tools() -> dict[str, Tool]:
    hints = ToolAnnotations(
        readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
    )
    tool = Tool("b_get", "kubectl", "Show a deployment.", NameParams, hints, _get)
    return {tool.name: tool}


def serve(data_dir: Path, port: int) -> None:
    """Run the app until terminated."""
    import logging

    import uvicorn

    from opsgate.api.app import AppDeps, create_app
    from opsgate.api.passwords import fast_passwords
    from opsgate.settings import Settings

    logging.basicConfig(level=logging.ERROR)
    script = data_dir / "script.yaml"
    script.write_text(SCRIPT)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=data_dir, model=f"scripted:{script}", port=port
    )
    deps = AppDeps(
        tools=bench_tools(),
        runner=MemoryRunner(),
        passwords=fast_passwords(),
        setup_token=SETUP_TOKEN,
    )
    uvicorn.run(
        create_app(settings, deps=deps),
        host="127.0.0.1",
        port=port,
        log_level="error",
        access_log=False,
    )


def _profiled(data_dir: Path, port: int, profile: Path) -> None:
    """`serve` under cProfile in every thread (the loop's, the store's and the saver's
    workers), timed by each thread's CPU time; SIGUSR1 writes all of them so far, merged."""
    import cProfile
    import pstats
    import signal
    import threading
    import time

    profilers = [cProfile.Profile(time.thread_time)]

    def start_in_thread(frame: object, event: str, arg: object) -> None:
        # The first event of a new thread: from now on its own profiler takes over.
        profiler = cProfile.Profile(time.thread_time)
        profilers.append(profiler)
        profiler.enable()

    def dump(signum: int, frame: object) -> None:
        stats = pstats.Stats(profilers[0])
        for profiler in profilers[1:]:
            stats.add(profiler)
        stats.dump_stats(profile)

    signal.signal(signal.SIGUSR1, dump)
    threading.setprofile(start_in_thread)  # type: ignore[arg-type]
    profilers[0].enable()
    serve(data_dir, port)


if __name__ == "__main__":
    if len(sys.argv) == 4:
        _profiled(Path(sys.argv[2]), int(sys.argv[1]), Path(sys.argv[3]))
    else:
        serve(Path(sys.argv[2]), int(sys.argv[1]))
