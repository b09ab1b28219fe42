"""Stream benchmark: N concurrent conversations against one opsgate server process.

The server (a subprocess running the real app: SQLite store, engine, in-process MCP tool
server, scripted model) serves two read-only tools over an in-memory command runner, so the
numbers measure opsgate's own path: run -> store -> bus -> SSE -> client. For each N in
(10, 100, 500) the client opens N event streams, starts N runs at once, and reads until every
run has finished. It prints events/s and the delivery latency (client receive time minus the
event's creation time, same host clock; also the part after the store persisted it), with
`stream_p99_ms_500=<n>` (creation -> client) as the last line.

    .venv/bin/python bench/stream.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import httpx
from pydantic import Field

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.base import CommandResult, Tool, ToolEnv, ToolOutput, ToolParams

SETUP_TOKEN = "bench-setup-token-0123456789"  # noqa: S105 - a local throwaway
PASSWORD = "bench password 0123"  # noqa: S105 - a local throwaway
SIZES = (10, 100, 500)
FINAL = ("completed", "stopped", "failed")
SCRIPT = """
scripts:
  - match: "status"
    turns:
      - text: "Checking both deployments."
        tool_calls: [{name: b_get, args: {name: frontend}}, {name: b_get, args: {name: api}}]
      - text: "Both deployments are running."
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
    """The server process."""
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


async def _admin_token(client: httpx.AsyncClient) -> str:
    setup = await client.post(
        "/api/v1/setup",
        json={"setup_token": SETUP_TOKEN, "username": "bench", "password": PASSWORD},
    )
    setup.raise_for_status()
    csrf = client.cookies["opsgate_csrf"]
    created = await client.post(
        "/api/v1/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf}
    )
    created.raise_for_status()
    client.cookies.clear()
    token: str = created.json()["token"]
    return token


async def _follow(
    client: httpx.AsyncClient,
    conversation_id: str,
    subscribed: asyncio.Event,
    latencies: list[float],
    after_store: list[float],
) -> int:
    """Read one conversation's stream until its run finished; return the events seen."""
    count = 0
    async with client.stream("GET", f"/api/v1/conversations/{conversation_id}/events") as r:
        data: str | None = None
        async for line in r.aiter_lines():
            if line.startswith("retry:"):
                subscribed.set()
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data is not None:
                received = time.time()
                event = json.loads(data)
                data = None
                count += 1
                latencies.append(received - datetime.fromisoformat(event["at"]).timestamp())
                after_store.append(
                    received - datetime.fromisoformat(event["stored_at"]).timestamp()
                )
                if event["type"] == "run.finished" and event.get("status") in FINAL:
                    return count
    return count


async def round_of(
    client: httpx.AsyncClient, n: int
) -> tuple[int, float, list[float], list[float]]:
    conversations = [
        (await client.post("/api/v1/conversations", json={"title": f"bench {i}"})).json()["id"]
        for i in range(n)
    ]
    latencies: list[float] = []
    after_store: list[float] = []
    subscribed = [asyncio.Event() for _ in conversations]
    followers = [
        asyncio.create_task(_follow(client, cid, ready, latencies, after_store))
        for cid, ready in zip(conversations, subscribed, strict=True)
    ]
    await asyncio.gather(*(ready.wait() for ready in subscribed))
    started = time.perf_counter()
    posts = await asyncio.gather(
        *(
            client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "status please"})
            for cid in conversations
        )
    )
    for response in posts:
        response.raise_for_status()
    counts = await asyncio.wait_for(asyncio.gather(*followers), timeout=600)
    return sum(counts), time.perf_counter() - started, latencies, after_store


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(base_url: str) -> float:
    limits = httpx.Limits(max_connections=max(SIZES) * 2 + 20, max_keepalive_connections=100)
    timeout = httpx.Timeout(600.0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
        token = await _admin_token(client)
        client.headers["Authorization"] = f"Bearer {token}"
        p99_ms = 0.0
        for n in SIZES:
            events, seconds, latencies, after_store = await round_of(client, n)
            p50_ms = statistics.median(latencies) * 1000
            p99_ms = _percentile(latencies, 0.99) * 1000
            stream_p99_ms = _percentile(after_store, 0.99) * 1000
            print(
                f"N={n:4d}: {events} events in {seconds:.2f} s = {events / seconds:,.0f} events/s;"
                f" delivery latency (event created -> client) p50 {p50_ms:.1f} ms,"
                f" p99 {p99_ms:.1f} ms; of which after the store (stored -> client)"
                f" p99 {stream_p99_ms:.1f} ms"
            )
        return p99_ms


async def _wait_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError("the server process exited early")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


def main() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="opsgate-bench-stream-") as tmp:
        process = subprocess.Popen(
            [sys.executable, __file__, "--serve", tmp, str(port)],
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            asyncio.run(_wait_ready(base_url, process))
            p99_ms = asyncio.run(measure(base_url))
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"stream_p99_ms_500={p99_ms:.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
