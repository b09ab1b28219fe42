"""Every path answers 4xx for bad input: NUL, dot segments, encoded slashes, overlong names,
invalid UTF-8 and control characters, over every static prefix and every API route, sent raw
(no client library normalising them) to a real server, on both databases."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tests.fixtures.api import live_server, running_app
from tests.fixtures.net import raw_exchange, status_of

ODD_SEGMENTS = (
    b"%00",
    b"a%00b",
    b"..",
    b"../..",
    b"..%2F..%2Fapp.py",
    b"%2e%2e%2fsecrets",
    b"a%2Fb",
    b"%2F",
    b"a" * 300,
    b"%FF",
    b"%C0%AF",
    b"%ED%A0%80",
    b"%0A",
    b"%0D%0Ax",
    b"%5C..%5Capp.py",
    b"%",
    b"%zz",
    b"\xff",
    b"%E2%80%8B",
    b"%1B%5B2J",
)
STATIC_PREFIXES = ("/", "/login/", "/setup/", "/assets/", "/assets/views/", "/healthz/")


def _api_targets(document: dict[str, object]) -> list[tuple[str, str]]:
    """(method, path with `{}` where the first parameter goes) for every documented route."""
    paths = document["paths"]
    assert isinstance(paths, dict)
    targets = []
    for template, item in paths.items():
        if "{" not in template:
            template = template.rstrip("/") + "/{}"
        for method in item:
            targets.append((method.upper(), re.sub(r"\{[^}]*\}", "{}", template, count=1)))
    return targets


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings for the app's database: the default SQLite file, or PostgreSQL."""
    if request.param == "postgres":
        return {"database_url": str(request.getfixturevalue("postgres_url"))}
    return {}


async def test_odd_paths_get_a_client_error_everywhere(
    database: dict[str, str], tmp_path: Path
) -> None:
    async with running_app(tmp_path / "data", **database) as env, live_server(env.app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            headers = {"Authorization": f"Bearer {env.tokens['admin']}"}
            document = (await client.get("/api/v1/openapi.json", headers=headers)).json()
        targets = [("GET", prefix + "{}") for prefix in STATIC_PREFIXES]
        targets += _api_targets(document)
        assert len(targets) > 35
        wrong: list[str] = []
        for method, template in targets:
            for segment in ODD_SEGMENTS:
                path = template.encode().replace(b"{}", segment)
                raw = (
                    method.encode() + b" " + path + b" HTTP/1.1\r\nHost: x\r\n"
                    b"Authorization: Bearer " + env.tokens["admin"].encode() + b"\r\n"
                    b"Content-Length: 2\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\n\r\n{}"
                )
                status = status_of(await raw_exchange(url, raw, timeout_s=5))
                if status is None or not 400 <= status < 500:
                    wrong.append(f"{method} {path[:80]!r} -> {status}")
        assert wrong == [], "\n".join(wrong)
