"""Sessions live in the database: an ended session stays ended across restarts, and logging
out, a password change or disabling the user ends it for good."""

from __future__ import annotations

from pathlib import Path

import httpx

from opsgate.api.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.fixtures.api import PASSWORD, ApiEnv, running_app


async def _sign_in(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200
    return client.cookies[SESSION_COOKIE]


async def _me(env: ApiEnv, cookie: str) -> int:
    async with env.client(cookies={SESSION_COOKIE: cookie}) as replay:
        return (await replay.get("/api/v1/auth/me")).status_code


async def test_a_logged_out_session_stays_ended_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_app(data_dir) as first:
        async with first.client() as client:
            cookie = await _sign_in(client, "viewer")
            out = await client.post(
                "/api/v1/auth/logout", headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]}
            )
            assert out.status_code == 204
        assert await _me(first, cookie) == 401
    async with running_app(data_dir, with_users=False) as second:
        assert await _me(second, cookie) == 401


async def test_a_live_session_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_app(data_dir) as first, first.client() as client:
        cookie = await _sign_in(client, "operator")
    async with running_app(data_dir, with_users=False) as second:
        assert await _me(second, cookie) == 200


async def test_disabling_a_user_ends_their_sessions_even_once_re_enabled(
    api_env: ApiEnv,
) -> None:
    viewer = api_env.users["viewer"]
    async with api_env.client() as client:
        cookie = await _sign_in(client, "viewer")
    async with api_env.client("admin") as admin:
        for disabled in (True, False):
            response = await admin.patch(f"/api/v1/users/{viewer.id}", json={"disabled": disabled})
            assert response.status_code == 200
    assert await _me(api_env, cookie) == 401
    async with api_env.client() as client:
        await _sign_in(client, "viewer")
        assert (await client.get("/api/v1/auth/me")).status_code == 200


async def test_a_password_change_ends_the_users_sessions(api_env: ApiEnv) -> None:
    operator = api_env.users["operator"]
    async with api_env.client() as client:
        cookie = await _sign_in(client, "operator")
    async with api_env.client("admin") as admin:
        changed = await admin.patch(
            f"/api/v1/users/{operator.id}", json={"password": "another long password"}
        )
        assert changed.status_code == 200
    assert await _me(api_env, cookie) == 401
