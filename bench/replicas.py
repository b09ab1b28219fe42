"""Replica benchmark: runs/s and stream latency for 1 and 3 opsgate servers on one PostgreSQL.

Each replica is a subprocess running the real app on a shared throwaway PostgreSQL 15 (store,
checkpoints, leases, `LISTEN/NOTIFY` fan-out), with bench/stream.py's in-memory read-only
tools and scripted model, so the numbers measure opsgate's own path across replicas. For 1
and then 3 replicas the client opens RUNS event streams and starts RUNS runs at once, round
robin, each run started on one replica and streamed from the next (with 1 replica, the same
one), and reads until every run has finished. It prints runs/s and the stream latency
(stored -> client, p99), with `replica_scaling=<3-replica runs/s / 1-replica runs/s>` as the
last line. On 2 shared cores expect little scaling; the ratio matters on larger machines, and
must not fall below 0.9 (fan-out must not cost more than it brings).

    .venv/bin/python bench/replicas.py
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import stream as stream_bench  # bench/stream.py: the admin token
from stream_parts import server as stream_server  # its server's tools, runner and script
from tests.fixtures import postgres

RUNS = 150
FINAL = ("completed", "stopped", "failed")


def serve(data_dir: Path, port: int, database_url: str) -> None:
    """One replica (the keys come from the environment, the same for every replica)."""
    import logging

    import uvicorn

    from opsgate.api.app import AppDeps, create_app
    from opsgate.api.passwords import fast_passwords
    from opsgate.settings import Settings

    logging.basicConfig(level=logging.ERROR)
    script = data_dir / "script.yaml"
    script.write_text(stream_server.SCRIPT)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        model=f"scripted:{script}",
        port=port,
        database_url=database_url,
    )
    deps = AppDeps(
        tools=stream_server.bench_tools(),
        runner=stream_server.MemoryRunner(),
        passwords=fast_passwords(),
        setup_token=stream_server.SETUP_TOKEN,
    )
    uvicorn.run(
        create_app(settings, deps=deps),
        host="127.0.0.1",
        port=port,
        log_level="error",
        access_log=False,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _follow(
    client: httpx.AsyncClient, cid: str, ready: asyncio.Event, lags: list[float]
) -> None:
    async with client.stream("GET", f"/api/v1/conversations/{cid}/events") as response:
        async for line in response.aiter_lines():
            if line.startswith("retry:"):
                ready.set()
            elif line.startswith("data: "):
                event = json.loads(line[6:])
                lags.append(time.time() - datetime.fromisoformat(event["stored_at"]).timestamp())
                if event["type"] == "run.finished" and event.get("status") in FINAL:
                    return


async def measure(urls: list[str]) -> tuple[float, float]:
    """Runs/s and stream p99 (ms) with runs spread over the replicas at `urls`."""
    limits = httpx.Limits(max_connections=RUNS * 2 + 20, max_keepalive_connections=100)
    timeout = httpx.Timeout(600.0)
    clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) for url in urls]
    try:
        token = await stream_bench._admin_token(clients[0], "")
        for client in clients:
            client.headers["Authorization"] = f"Bearer {token}"
        count = len(clients)
        conversations = [
            (await clients[i % count].post("/api/v1/conversations", json={})).json()["id"]
            for i in range(RUNS)
        ]
        lags: list[float] = []
        ready = [asyncio.Event() for _ in conversations]
        followers = [
            asyncio.create_task(_follow(clients[(i + 1) % count], cid, ready[i], lags))
            for i, cid in enumerate(conversations)
        ]
        await asyncio.gather(*(r.wait() for r in ready))
        started = time.perf_counter()
        posts = await asyncio.gather(
            *(
                clients[i % count].post(
                    f"/api/v1/conversations/{cid}/messages", json={"text": "status please"}
                )
                for i, cid in enumerate(conversations)
            )
        )
        for response in posts:
            response.raise_for_status()
        await asyncio.wait_for(asyncio.gather(*followers), timeout=600)
        seconds = time.perf_counter() - started
        ordered = sorted(lags)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        return RUNS / seconds, p99 * 1000
    finally:
        for client in clients:
            await client.aclose()


async def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(1200):
            if process.poll() is not None:
                raise RuntimeError("a replica exited early")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("a replica did not start")


def run_with(server: postgres.PostgresServer, replicas: int, workdir: Path) -> tuple[float, float]:
    database = f"bench_replicas_{replicas}"
    with server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{postgres.TEMPLATE_DB}"')
    env = {
        **os.environ,
        "OPSGATE_AUDIT_KEY": postgres.AUDIT_KEY.decode(),
        **{
            f"OPSGATE_{k}": secrets.token_urlsafe(32)
            for k in ("SECRET_KEY", "APPROVAL_KEY", "SESSION_KEY")
        },
    }
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for i in range(replicas):
            port = _free_port()
            data_dir = workdir / f"{replicas}-{i}"
            data_dir.mkdir()
            argv = [
                sys.executable,
                __file__,
                "--serve",
                str(data_dir),
                str(port),
                server.url(database),
            ]
            processes.append(
                subprocess.Popen(argv, env=env, cwd=Path(__file__).resolve().parents[1])
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            asyncio.run(_wait_ready(url, process))
        return asyncio.run(measure(urls))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    results: dict[int, float] = {}
    with (
        postgres.running_postgres() as server,
        tempfile.TemporaryDirectory(prefix="opsgate-bench-replicas-") as tmp,
    ):
        for replicas in (1, 3):
            runs_per_s, p99_ms = run_with(server, replicas, Path(tmp))
            results[replicas] = runs_per_s
            print(
                f"replicas={replicas}: {RUNS} runs at once, {runs_per_s:.1f} runs/s;"
                f" stream (stored -> client, on another replica) p99 {p99_ms:.1f} ms"
            )
    print(f"replica_scaling={results[3] / results[1]:.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        main()
