"""Request bodies are bounded: over the limit is 413 before anything reads or parses the body
(anonymous or not, declared or chunked), and a palette call's arguments are capped, so one
request cannot grow the append-only stores."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.fixtures.api import ApiEnv, live_server, running_app
from tests.fixtures.net import raw_exchange, status_of

MIB = 1024 * 1024
COUNTED_TABLES = ("audit_log", "stream_events", "tool_calls", "runs", "messages")


def _footprint(env: ApiEnv) -> tuple[int, dict[str, int]]:
    """Bytes of the SQLite files and the rows of the tables a call would write to."""
    data_dir = env.settings.data_dir
    size = sum(p.stat().st_size for p in data_dir.glob("opsgate.db*"))
    with sqlite3.connect(data_dir / "opsgate.db") as db:
        rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED_TABLES}  # noqa: S608 - our table names
    return size, rows


async def test_a_declared_oversized_body_is_refused_before_it_is_even_sent(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path / "data") as env, live_server(env.app) as url:
        before = _footprint(env)
        # Only the headers go out: a server that waited to read or parse the body would hang.
        request = (
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10485760\r\n\r\n"
        )
        response = await raw_exchange(url, request, timeout_s=5)
        assert status_of(response) == 413, response[:200]
        assert b'"too_large"' in response
        assert b"content-security-policy" in response.lower()
        assert _footprint(env) == before


async def test_a_chunked_body_is_refused_once_it_passes_the_limit(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as env, live_server(env.app) as url:
        chunk = b"x" * (64 * 1024)
        count = MIB // len(chunk) + 1
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(count))
        request = (
            b"POST /api/v1/conversations HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer " + env.tokens["operator"].encode() + b"\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + body
        )
        response = await raw_exchange(url, request, timeout_s=5)
        assert status_of(response) == 413, response[:200]
        assert await env.state.store.list_conversations() == []


async def test_a_10_mb_palette_call_is_refused_and_nothing_is_stored(api_env: ApiEnv) -> None:
    async with api_env.client("operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        url = f"/api/v1/conversations/{conversation['id']}/calls"
        before = _footprint(api_env)
        huge = {"tool": "k_get", "args": {"name": "frontend", "junk": "x" * (10 * MIB)}}
        response = await operator.post(
            url, content=json.dumps(huge).encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        assert _footprint(api_env) == before


async def test_palette_call_arguments_under_the_body_limit_are_still_capped(
    api_env: ApiEnv,
) -> None:
    async with api_env.client("operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        before = _footprint(api_env)
        big = {"tool": "k_get", "args": {"name": "frontend", "junk": "x" * 900_000}}
        response = await operator.post(
            f"/api/v1/conversations/{conversation['id']}/calls", json=big
        )
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "args"
        long_message = await operator.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "y" * 20_001}
        )
        assert long_message.status_code == 422
        assert _footprint(api_env) == before
