"""What the Jenkins tool layer adds to a read, and how fast the sandbox Jenkins starts.

Starts the demo sandbox Jenkins on a loopback port (uvicorn in a thread, timed), then
alternates, for N rounds, `jenkins_get_job` (validation, URL building, client, summary,
redaction) and the same GET done bare with a fresh httpx client (same cached TLS context).
Prints the start time, per-side medians and, last, `jenkins_tool_ratio=<median ratio>`.

Run: `.venv/bin/python bench/jenkins.py [--rounds N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr

from opsgate.sandbox import jenkins
from opsgate.settings import JenkinsServer
from opsgate.tools.base import CommandResult, ConfiguredJenkins, ToolEnv
from opsgate.tools.jenkins import TOOLS, client, reads, urls

JOB = "shop-build"


class NoCommands:
    async def run(self, argv: object, **_: object) -> CommandResult:
        raise RuntimeError("Jenkins tools run no commands")


def start() -> tuple[uvicorn.Server, str, float]:
    started = time.perf_counter()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = jenkins.create_app("demo")
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.005)
    return server, f"http://127.0.0.1:{port}/", time.perf_counter() - started


async def bench(base: str, rounds: int) -> None:
    server = JenkinsServer(
        url=base, user=jenkins.SANDBOX_JENKINS_USER, token=SecretStr(jenkins.SANDBOX_JENKINS_TOKEN)
    )
    env = ToolEnv(
        runner=NoCommands(),  # type: ignore[arg-type]
        kubectl=Path("/nonexistent"),
        helm=Path("/nonexistent"),
        jenkins=ConfiguredJenkins({"sandbox": server}),
    )
    tool = next(t for t in TOOLS if t.name == "jenkins_get_job")
    url = urls.api_json(urls.job_url(base, JOB), reads.GET_JOB_TREE)
    auth = (jenkins.SANDBOX_JENKINS_USER, jenkins.SANDBOX_JENKINS_TOKEN)
    context = client.tls_context(True)  # the same cached TLS context, so only the layer differs

    async def via_tool() -> float:
        began = time.perf_counter()
        output = await tool.run(tool.parse({"server": "sandbox", "job": JOB}), env)
        assert output.ok, output.text
        return time.perf_counter() - began

    async def bare() -> float:
        began = time.perf_counter()
        async with httpx.AsyncClient(auth=auth, verify=context, trust_env=False) as http:
            (await http.get(url)).raise_for_status()
        return time.perf_counter() - began

    tool_times: list[float] = []
    bare_times: list[float] = []
    ratios: list[float] = []
    for round_number in range(rounds):
        first, second = (via_tool, bare) if round_number % 2 else (bare, via_tool)
        a, b = await first(), await second()
        tool_s, bare_s = (a, b) if first is via_tool else (b, a)
        tool_times.append(tool_s)
        bare_times.append(bare_s)
        ratios.append(tool_s / bare_s)
    print(f"bare GET median: {statistics.median(bare_times) * 1000:.2f} ms")
    print(f"jenkins_get_job median: {statistics.median(tool_times) * 1000:.2f} ms")
    print(f"jenkins_tool_ratio={statistics.median(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    server, base, start_s = start()
    print(f"sandbox Jenkins start: {start_s * 1000:.0f} ms")
    try:
        asyncio.run(bench(base, args.rounds))
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()
