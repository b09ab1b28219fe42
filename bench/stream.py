"""Stream benchmark: one opsgate server process carrying many conversations, against a bare one.

Three parts, each against a server subprocess on loopback, read by the same client:

1. Baseline: a bare Starlette SSE server (`bench/stream_parts/reference.py`) pushes the same number
   of events, shaped like opsgate's, to `--saturated` streams at once.
2. Paced (real use): the opsgate server (`bench/stream_parts/server.py`) idles (`rss_mb_idle`), then
   `--streams` conversations keep a stream open while `--active` of them at a time run the
   paced script (a turn every 0.5-2 s, tokens at 30/s, coalesced by the engine as always) for
   `--minutes`. Delivery latency is client receive time minus the event's creation time
   (same host clock); the server's RSS is sampled every few seconds (`rss_mb_paced`, the
   last sample; `rss_slope_mb_per_min`, a least-squares line through the samples after
   the first quarter, when the process has warmed up).
3. Saturated: `--saturated` conversations start a scripted run (two reads, an answer) at
   once; events/s until all have finished, and the server's CPU per event (utime+stime of
   the whole process, all threads).

The last lines are the figures: `stream_events_per_s_saturated`, the baseline's, their ratio,
`stream_p99_ms_paced` (goal < 100), `rss_mb_idle` (goal < 250), `rss_mb_paced`,
`rss_slope_mb_per_min` (goal ~0).

    .venv/bin/python bench/stream.py [--minutes 1] [--streams 500] [--active 50]
        [--saturated 500] [--profile PATH]   (PATH: cProfile of the server's loop thread)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from stream_parts.server import SETUP_TOKEN

BENCH = Path(__file__).resolve().parent
PASSWORD = "bench password 0123"  # noqa: S105 - a local throwaway
FINAL = ("completed", "stopped", "failed")
RSS_EVERY_S = 5.0
PACED_WARMUP_S = 5.0
"""Paced latencies of the first seconds are left out: every stream starts at once there."""


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str

    def cpu_s(self) -> float:
        """CPU seconds (user + system, every thread) the process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc status")


@contextmanager
def started(script: str, *args: str) -> Iterator[Server]:
    """`script PORT *args` on a free loopback port, terminated afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, script, str(port), *args], cwd=BENCH.parent)
    try:
        yield Server(process, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _client(connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections * 2 + 20, max_keepalive_connections=100)
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(600.0))


async def _wait_ready(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        for _ in range(600):
            if server.process.poll() is not None:
                raise RuntimeError("the server process exited early")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


@dataclass
class Deliveries:
    """What the client received: latencies (s) and how many events."""

    latencies: list[float] = field(default_factory=list)
    count: int = 0
    since: float = 0.0
    """Wall time before which events are counted but their latency is not kept."""


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    subscribed: asyncio.Event,
    seen: Deliveries,
    on_finished: Callable[[], bool],
) -> None:
    """Read one stream; after each final `run.finished`, stop if `on_finished()` says so."""
    async with client.stream("GET", url) as response:
        data: str | None = None
        async for line in response.aiter_lines():
            if line.startswith("retry:"):
                subscribed.set()
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data is not None:
                received = time.time()
                event = json.loads(data)
                data = None
                seen.count += 1
                if received >= seen.since:
                    created = datetime.fromisoformat(event["at"]).timestamp()
                    seen.latencies.append(received - created)
                final = event["type"] == "run.finished" and event.get("status") in FINAL
                if final and on_finished():
                    return


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass(frozen=True)
class Saturated:
    events: int
    seconds: float
    cpu_s: float
    p99_ms: float

    @property
    def per_s(self) -> float:
        return self.events / self.seconds

    def line(self, name: str) -> str:
        return (
            f"{name}: {self.events} events in {self.seconds:.2f} s = {self.per_s:,.0f} events/s;"
            f" server CPU {self.cpu_s:.2f} s = {self.cpu_s / self.events * 1000:.2f} ms/event;"
            f" delivery p99 {self.p99_ms:.0f} ms"
        )


async def _saturate(
    server: Server, client: httpx.AsyncClient, urls: list[str], go: Callable[[], object]
) -> Saturated:
    seen = Deliveries()
    subscribed = [asyncio.Event() for _ in urls]
    followers = [
        asyncio.create_task(_follow(client, url, ready, seen, lambda: True))
        for url, ready in zip(urls, subscribed, strict=True)
    ]
    await asyncio.gather(*(ready.wait() for ready in subscribed))
    cpu_before, started_at = server.cpu_s(), time.perf_counter()
    await go()  # type: ignore[misc]
    await asyncio.wait_for(asyncio.gather(*followers), timeout=900)
    seconds = time.perf_counter() - started_at
    p99_ms = _percentile(seen.latencies, 0.99) * 1000
    return Saturated(seen.count, seconds, server.cpu_s() - cpu_before, p99_ms)


async def bare_sse(n: int) -> Saturated:
    with started(str(BENCH / "stream_parts" / "reference.py")) as server:
        await _wait_ready(server)
        async with _client(n) as client:
            urls = [f"{server.base_url}/streams/{i}" for i in range(n)]

            async def go() -> None:
                (await client.post(f"{server.base_url}/go")).raise_for_status()

            return await _saturate(server, client, urls, go)


async def _admin_token(client: httpx.AsyncClient, base_url: str) -> str:
    """A fresh server's admin API token (`base_url` "" for a client with its own base URL)."""
    setup = await client.post(
        f"{base_url}/api/v1/setup",
        json={"setup_token": SETUP_TOKEN, "username": "bench", "password": PASSWORD},
    )
    setup.raise_for_status()
    csrf = client.cookies["opsgate_csrf"]
    created = await client.post(
        f"{base_url}/api/v1/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf}
    )
    created.raise_for_status()
    client.cookies.clear()
    token: str = created.json()["token"]
    return token


async def _conversations(client: httpx.AsyncClient, base_url: str, n: int) -> list[str]:
    created = []
    for i in range(n):
        response = await client.post(f"{base_url}/api/v1/conversations", json={"title": f"b{i}"})
        response.raise_for_status()
        created.append(response.json()["id"])
    return created


@dataclass(frozen=True)
class Paced:
    events: int
    runs: int
    p99_ms: float
    p50_ms: float
    rss_mb: list[tuple[float, float]]
    """(minutes since the paced load began, RSS MB) samples."""

    @property
    def slope_mb_per_min(self) -> float:
        kept = [s for s in self.rss_mb if s[0] >= self.rss_mb[-1][0] / 4]
        if len(kept) < 2:
            return float("nan")
        xs, ys = [s[0] for s in kept], [s[1] for s in kept]
        mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


async def paced(
    server: Server, client: httpx.AsyncClient, streams: int, active: int, minutes: float
) -> Paced:
    base = server.base_url
    conversations = await _conversations(client, base, streams)
    finished = {cid: asyncio.Event() for cid in conversations}
    seen = Deliveries(since=time.time() + PACED_WARMUP_S)
    subscribed = [asyncio.Event() for _ in conversations]

    def until(cid: str) -> Callable[[], bool]:
        def signal() -> bool:
            finished[cid].set()
            return False  # streams stay open for the whole paced run

        return signal

    followers = [
        asyncio.create_task(
            _follow(client, f"{base}/api/v1/conversations/{cid}/events", ready, seen, until(cid))
        )
        for cid, ready in zip(conversations, subscribed, strict=True)
    ]
    await asyncio.gather(*(ready.wait() for ready in subscribed))
    deadline = time.monotonic() + minutes * 60
    runs = 0

    async def worker(mine: list[str]) -> None:
        nonlocal runs
        turn = 0
        while time.monotonic() < deadline:
            cid = mine[turn % len(mine)]
            turn += 1
            finished[cid].clear()
            posted = await client.post(
                f"{base}/api/v1/conversations/{cid}/messages", json={"text": "paced check"}
            )
            posted.raise_for_status()
            await finished[cid].wait()
            runs += 1

    samples: list[tuple[float, float]] = []

    async def sample_rss() -> None:
        began = time.monotonic()
        while time.monotonic() < deadline:
            samples.append(((time.monotonic() - began) / 60, server.rss_mb()))
            await asyncio.sleep(RSS_EVERY_S)
        samples.append(((time.monotonic() - began) / 60, server.rss_mb()))

    groups = [conversations[i::active] for i in range(active)]
    random.shuffle(groups)
    await asyncio.gather(sample_rss(), *(worker(group) for group in groups))
    for follower in followers:
        follower.cancel()
    await asyncio.gather(*followers, return_exceptions=True)
    return Paced(
        seen.count,
        runs,
        _percentile(seen.latencies, 0.99) * 1000,
        _percentile(seen.latencies, 0.5) * 1000,
        samples,
    )


async def opsgate(args: argparse.Namespace, profile: list[str]) -> tuple[float, Paced, Saturated]:
    """Idle RSS, then the paced load, then the saturated round, on one server process."""
    with (
        tempfile.TemporaryDirectory(prefix="opsgate-bench-stream-") as tmp,
        started(str(BENCH / "stream_parts" / "server.py"), tmp, *profile) as server,
    ):
        await _wait_ready(server)
        async with _client(max(args.streams, args.saturated)) as client:
            token = await _admin_token(client, server.base_url)
            client.headers["Authorization"] = f"Bearer {token}"
            await asyncio.sleep(2.0)
            idle = server.rss_mb()
            print(f"idle: RSS {idle:.1f} MB", flush=True)
            load = await paced(server, client, args.streams, args.active, args.minutes)
            print(
                f"paced: {args.streams} streams, {args.active} active runs for"
                f" {args.minutes:g} min: {load.runs} runs, {load.events} events;"
                f" delivery p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms;"
                f" RSS MB every {RSS_EVERY_S:g} s:"
                f" {', '.join(f'{mb:.0f}' for _, mb in load.rss_mb)}",
                flush=True,
            )
            saturated = await _saturated_runs(server, client, args.saturated)
            if profile:
                server.process.send_signal(signal.SIGUSR1)
                await asyncio.sleep(5)
        return idle, load, saturated


async def _saturated_runs(server: Server, client: httpx.AsyncClient, n: int) -> Saturated:
    base = server.base_url
    conversations = await _conversations(client, base, n)

    async def go() -> None:
        posts = await asyncio.gather(
            *(
                client.post(
                    f"{base}/api/v1/conversations/{cid}/messages", json={"text": "status please"}
                )
                for cid in conversations
            )
        )
        for response in posts:
            response.raise_for_status()

    urls = [f"{base}/api/v1/conversations/{cid}/events" for cid in conversations]
    return await _saturate(server, client, urls, go)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="paced load (report: 5)")
    parser.add_argument("--streams", type=int, default=500, help="open streams, paced")
    parser.add_argument("--active", type=int, default=50, help="active runs, paced")
    parser.add_argument("--saturated", type=int, default=500, help="runs started at once")
    parser.add_argument("--profile", help="write a cProfile of the opsgate server here")
    args = parser.parse_args()
    bare = asyncio.run(bare_sse(args.saturated))
    print(bare.line(f"bare SSE server, {args.saturated} streams"), flush=True)
    profile = [str(Path(args.profile).resolve())] if args.profile else []
    idle, load, saturated = asyncio.run(opsgate(args, profile))
    print(saturated.line(f"opsgate, {args.saturated} runs at once"))
    print(f"stream_events_per_s_bare_sse={bare.per_s:.0f}")
    print(f"stream_events_per_s_saturated={saturated.per_s:.0f}")
    print(f"stream_saturated_ratio_vs_bare_sse={saturated.per_s / bare.per_s:.3f}")
    cpu_ratio = (saturated.cpu_s / saturated.events) / (bare.cpu_s / bare.events)
    print(f"stream_cpu_per_event_ratio_vs_bare_sse={cpu_ratio:.1f}")
    print(f"stream_p99_ms_paced={load.p99_ms:.1f}")
    print(f"rss_mb_idle={idle:.1f}")
    print(f"rss_mb_paced={load.rss_mb[-1][1]:.1f}")
    print(f"rss_slope_mb_per_min={load.slope_mb_per_min:.2f}")


if __name__ == "__main__":
    main()
