"""Slow and numerous clients against a real uvicorn server on loopback, configured as `opsgate
serve` configures it: dribbled headers and bodies are cut off at their deadline, connections
beyond the cap are refused, and a normal request gets through meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx

from tests.fixtures.api import live_server, running_app
from tests.fixtures.net import host_port, raw_exchange, status_of

DRIBBLERS = 300
HEADER_TIMEOUT_S = 2.0


async def _dribble(url: str, closed: list[float], started: float) -> None:
    """Send a request's headers a few bytes at a time, never finishing; note when cut off."""
    host, port = host_port(url)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        for _ in range(int(4 * HEADER_TIMEOUT_S / 0.25)):
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(reader.read(1024), 0.25) == b"":
                    closed.append(time.monotonic() - started)
                    return
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
    except ConnectionError:
        closed.append(time.monotonic() - started)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_dribbling_clients_are_cut_off_while_a_normal_request_gets_through(
    tmp_path: Path,
) -> None:
    async with (
        running_app(tmp_path / "data", header_timeout_s=HEADER_TIMEOUT_S) as env,
        live_server(env.app) as url,
    ):
        closed: list[float] = []
        started = time.monotonic()
        dribblers = [asyncio.create_task(_dribble(url, closed, started)) for _ in range(DRIBBLERS)]
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            normal = await client.get("/healthz")
            answered_after = time.monotonic() - started
        await asyncio.gather(*dribblers)
    assert normal.status_code == 200
    assert len(closed) == DRIBBLERS, "each dribbler is cut off within 4x the header timeout"
    # Answered while every dribbler still held its connection: not only once they were cut off
    # (ordered against the cut-offs, not against the clock, so a loaded machine cannot flake it).
    assert answered_after < min(closed)


async def test_connections_over_the_cap_are_refused_until_idle_ones_time_out(
    tmp_path: Path,
) -> None:
    async with (
        running_app(tmp_path / "data", header_timeout_s=1.0, max_connections=20) as env,
        live_server(env.app) as url,
    ):
        host, port = host_port(url)
        idle = [await asyncio.open_connection(host, port) for _ in range(25)]
        await asyncio.sleep(0.2)
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        assert status_of(await raw_exchange(url, request, timeout_s=5)) == 503
        await asyncio.sleep(2.0)
        assert status_of(await raw_exchange(url, request, timeout_s=5)) == 200
        for _, writer in idle:
            writer.close()


async def test_a_body_that_arrives_too_slowly_gets_408(tmp_path: Path) -> None:
    async with (
        running_app(tmp_path / "data", body_timeout_s=1.0) as env,
        live_server(env.app) as url,
    ):
        request = (
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        started = time.monotonic()
        response = await raw_exchange(url, request, timeout_s=5)
        assert status_of(response) == 408, response[:200]
        assert time.monotonic() - started < 3
