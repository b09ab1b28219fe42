"""What a read costs through the MCP tool server: spawned kubectl, the native path, bare kubectl.

Starts a demo sandbox, then runs the same `kubectl get` (same argv, same child environment)
interleaved, rotating which goes first: through `ToolClient` -> `create_server` -> validation
-> runner -> redaction (kubectl spawned), the same call with the native path on (the pooled
API client prints what kubectl prints, `tools.native`), and as a bare `create_subprocess_exec`.
Prints per-side medians, `tool_overhead_ratio=<median of per-round spawned/bare ratios>`
(target <= 1.10) and `native_read_ratio=<native median / bare median>` (target <= 0.2); last,
the CPU seconds (this process plus the kubectl children it reaped) per 100 reads of each path,
`cpu_s_per_100_reads_native=` and `cpu_s_per_100_reads_kubectl=`.

Run: `.venv/bin/python bench/tool_overhead.py [--rounds N] [--cpu-reads N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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
from opsgate.tools.native.pool import ApiPool
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


async def through_mcp(client: ToolClient, path: str = "kubectl") -> float:
    started = time.perf_counter()
    result = await client.call("k8s_get", dict(ARGS))
    if not result.ok:
        raise SystemExit(f"k8s_get through MCP failed: {result.text[:300]}")
    if not isinstance(result.data, dict) or result.data.get("read_path") != path:
        raise SystemExit(f"k8s_get took the wrong path (wanted {path}): {result.data}")
    return time.perf_counter() - started


def cpu_seconds() -> float:
    """This process's CPU time plus that of the children it has reaped (kubectl)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


async def cpu_per_100(client: ToolClient, path: str, reads: int) -> float:
    before = cpu_seconds()
    for _ in range(reads):
        await through_mcp(client, path)
    return (cpu_seconds() - before) * 100 / reads


async def measure(info: dict[str, str], workdir: Path, rounds: int, cpu_reads: int) -> None:
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
    pool = ApiPool(base_env=child)
    native_env = dataclasses.replace(env, api=pool)
    try:
        spawned_server = create_server(
            env, registry.all_tools(), approval_key=secrets.token_bytes(32), spent=store
        )
        native_server = create_server(
            native_env, registry.all_tools(), approval_key=secrets.token_bytes(32), spent=store
        )
        async with (
            ToolClient.in_memory(spawned_server) as client,
            ToolClient.in_memory(native_server) as native,
        ):
            for _ in range(3):  # an age may tick over between the two reads
                first = await client.call("k8s_get", dict(ARGS))
                if not first.ok or first.command is None:
                    raise SystemExit(f"k8s_get through MCP failed: {first.text[:300]}")
                if (await native.call("k8s_get", dict(ARGS))).text == first.text:
                    break
            else:
                raise SystemExit("the native read printed something else than kubectl")
            argv = shlex.split(first.command)
            for _ in range(3):
                await bare(argv, child)
                await through_mcp(client)
                await through_mcp(native, "native")
            mcp_times: list[float] = []
            native_times: list[float] = []
            bare_times: list[float] = []
            ratios: list[float] = []
            sides = ["mcp", "native", "bare"]
            for index in range(rounds):
                took: dict[str, float] = {}
                for side in sides[index % 3 :] + sides[: index % 3]:
                    if side == "mcp":
                        took[side] = await through_mcp(client)
                    elif side == "native":
                        took[side] = await through_mcp(native, "native")
                    else:
                        took[side] = await bare(argv, child)
                mcp_times.append(took["mcp"])
                native_times.append(took["native"])
                bare_times.append(took["bare"])
                ratios.append(took["mcp"] / took["bare"])
            cpu_native = await cpu_per_100(native, "native", cpu_reads)
            cpu_kubectl = await cpu_per_100(client, "kubectl", cpu_reads)
    finally:
        await store.close()
        await pool.aclose()
    bare_median = statistics.median(bare_times)
    print(f"command: {shlex.join(argv)}")
    print(f"rounds={rounds}")
    print(f"bare_kubectl_median_ms={bare_median * 1000:.1f}")
    print(f"mcp_k8s_get_median_ms={statistics.median(mcp_times) * 1000:.1f}")
    print(f"native_k8s_get_median_ms={statistics.median(native_times) * 1000:.1f}")
    print(f"tool_overhead_ratio={statistics.median(ratios):.3f}")
    print(f"native_read_ratio={statistics.median(native_times) / bare_median:.3f}")
    print(f"cpu_s_per_100_reads_native={cpu_native:.3f}")
    print(f"cpu_s_per_100_reads_kubectl={cpu_kubectl:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--cpu-reads", type=int, default=100, help="reads per path for CPU")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opsgate-bench-") as directory:
        workdir = Path(directory)
        proc, info = server.start_child(workdir / "kubeconfig", workdir / "info.json")
        try:
            asyncio.run(measure(info, workdir, args.rounds, args.cpu_reads))
        finally:
            server.stop_child(proc)


if __name__ == "__main__":
    main()
