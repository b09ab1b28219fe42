"""What the MCP tool server adds to a read: `k8s_get` through the in-process client vs bare kubectl.

Starts a demo sandbox, then runs the same `kubectl get` (same argv, same child environment)
interleaved, alternating which goes first: once through `ToolClient` -> `create_server` ->
validation -> runner -> redaction, once as a bare `create_subprocess_exec`. Prints per-side
medians and, last, `tool_overhead_ratio=<median of per-round ratios>` (target <= 1.10).

Run: `.venv/bin/python bench/tool_overhead.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shlex
import statistics
import tempfile
import time
from pathlib import Path

from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.sandbox import server
from opsgate.settings import PROJECT_ROOT
from opsgate.store import sql
from opsgate.tools import registry
from opsgate.tools.base import ToolEnv
from opsgate.tools.runner import SubprocessRunner, child_env

TOOLS_BIN = PROJECT_ROOT / ".tools" / "bin"
ARGS = {"resource": "pods", "namespace": "shop"}


async def bare(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
    )
    await process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"bare kubectl failed with exit code {process.returncode}")
    return time.perf_counter() - started


async def through_mcp(client: ToolClient) -> float:
    started = time.perf_counter()
    result = await client.call("k8s_get", dict(ARGS))
    if not result.ok:
        raise SystemExit(f"k8s_get through MCP failed: {result.text[:300]}")
    return time.perf_counter() - started


async def measure(info: dict[str, str], workdir: Path, rounds: int) -> None:
    home = workdir / "home"
    home.mkdir()
    child = child_env({**os.environ, "HOME": str(home)})
    env = ToolEnv(
        runner=SubprocessRunner(env=child, timeout_s=60),
        kubectl=TOOLS_BIN / "kubectl",
        helm=TOOLS_BIN / "helm",
        kubeconfig=workdir / "kubeconfig",
        default_context=info["context"],
    )
    store = await sql.open_store(
        f"sqlite+aiosqlite:///{workdir / 'opsgate.db'}",
        secret_key=secrets.token_bytes(32),
        audit_key=secrets.token_bytes(32),
    )
    try:
        server = create_server(
            env, registry.all_tools(), approval_key=secrets.token_bytes(32), spent=store
        )
        async with ToolClient.in_memory(server) as client:
            first = await client.call("k8s_get", dict(ARGS))
            if not first.ok or first.command is None:
                raise SystemExit(f"k8s_get through MCP failed: {first.text[:300]}")
            argv = shlex.split(first.command)
            for _ in range(3):
                await bare(argv, child)
                await through_mcp(client)
            mcp_times: list[float] = []
            bare_times: list[float] = []
            ratios: list[float] = []
            for index in range(rounds):
                if index % 2 == 0:
                    mcp_s = await through_mcp(client)
                    bare_s = await bare(argv, child)
                else:
                    bare_s = await bare(argv, child)
                    mcp_s = await through_mcp(client)
                mcp_times.append(mcp_s)
                bare_times.append(bare_s)
                ratios.append(mcp_s / bare_s)
    finally:
        await store.close()
    print(f"command: {shlex.join(argv)}")
    print(f"rounds={rounds}")
    print(f"bare_kubectl_median_ms={statistics.median(bare_times) * 1000:.1f}")
    print(f"mcp_k8s_get_median_ms={statistics.median(mcp_times) * 1000:.1f}")
    print(f"tool_overhead_ratio={statistics.median(ratios):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="opsgate-bench-") as directory:
        workdir = Path(directory)
        proc, info = server.start_child(workdir / "kubeconfig", workdir / "info.json")
        try:
            asyncio.run(measure(info, workdir, rounds))
        finally:
            server.stop_child(proc)


if __name__ == "__main__":
    main()
