"""Sign-in, sessions with CSRF, API tokens, login throttling and first-admin setup."""

from __future__ import annotations

import httpx

from opsgate.api.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.fixtures.api import PASSWORD, SETUP_TOKEN, ApiEnv


async def _login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )


async def test_login_sets_httponly_strict_session_cookie(api_env: ApiEnv) -> None:
    async with api_env.client() as client:
        response = await _login(client, "operator")
        assert response.status_code == 200
        assert response.json()["user"]["role"] == "operator"
        set_cookies = response.headers.get_list("set-cookie")
        session = next(c for c in set_cookies if c.startswith(f"{SESSION_COOKIE}="))
        csrf = next(c for c in set_cookies if c.startswith(f"{CSRF_COOKIE}="))
        assert "httponly" in session.lower()
        assert "samesite=strict" in session.lower()
        assert "httponly" not in csrf.lower()
        me = await client.get("/api/v1/auth/me")
        assert me.status_code == 200
        assert me.json()["username"] == "operator"


async def test_wrong_password_is_401_with_error_shape(api_env: ApiEnv) -> None:
    async with api_env.client() as client:
        response = await _login(client, "operator", "wrong password!!")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        unknown = await _login(client, "nobody", "wrong password!!")
        assert unknown.status_code == 401
        assert unknown.json() == response.json()


async def test_cookie_auth_requires_csrf_header_on_state_changes(api_env: ApiEnv) -> None:
    async with api_env.client() as client:
        await _login(client, "operator")
        body = {"title": "csrf check"}
        missing = await client.post("/api/v1/conversations", json=body)
        assert missing.status_code == 403
        assert "X-CSRF-Token" in missing.json()["error"]["message"]
        wrong = await client.post("/api/v1/conversations", json=body, headers={CSRF_HEADER: "x"})
        assert wrong.status_code == 403
        token = client.cookies[CSRF_COOKIE]
        ok = await client.post("/api/v1/conversations", json=body, headers={CSRF_HEADER: token})
        assert ok.status_code == 201


async def test_bearer_token_needs_no_csrf_and_bad_token_is_401(api_env: ApiEnv) -> None:
    async with api_env.client("operator") as client:
        response = await client.post("/api/v1/conversations", json={"title": "via token"})
        assert response.status_code == 201
    async with api_env.client() as client:
        bad = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer og_nope"})
        assert bad.status_code == 401


async def test_logout_ends_the_session_even_if_the_cookie_is_replayed(api_env: ApiEnv) -> None:
    async with api_env.client() as client:
        await _login(client, "viewer")
        cookie = client.cookies[SESSION_COOKIE]
        csrf = client.cookies[CSRF_COOKIE]
        out = await client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf})
        assert out.status_code == 204
    async with api_env.client(cookies={SESSION_COOKIE: cookie}) as replay:
        assert (await replay.get("/api/v1/auth/me")).status_code == 401


async def test_login_is_throttled_per_account_after_repeated_failures(api_env: ApiEnv) -> None:
    async with api_env.client() as client:
        for _ in range(api_env.state.limiter.free_failures_per_account + 1):
            assert (await _login(client, "approver", "wrong password!!")).status_code == 401
        response = await _login(client, "approver", "wrong password!!")
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        # Even the right password is refused while the account is locked.
        locked = await _login(client, "approver")
        assert locked.status_code == 429
        assert locked.json()["error"]["code"] == "rate_limited"
        # Another account from the same address is not locked yet.
        assert (await _login(client, "viewer")).status_code == 200


async def test_login_is_throttled_per_client_address(api_env: ApiEnv) -> None:
    limiter = api_env.state.limiter
    async with api_env.client() as client:
        for i in range(limiter.free_failures_per_address + 1):
            await _login(client, f"guess{i}", "wrong password!!")
        assert (await _login(client, "viewer")).status_code == 429


async def test_setup_token_creates_the_first_admin_once(empty_api_env: ApiEnv) -> None:
    async with empty_api_env.client() as client:
        status = await client.get("/api/v1/setup/status")
        assert status.json() == {"needs_setup": True}
        body = {"setup_token": "wrong", "username": "root", "password": PASSWORD}
        assert (await client.post("/api/v1/setup", json=body)).status_code == 403
        body["setup_token"] = SETUP_TOKEN
        created = await client.post("/api/v1/setup", json=body)
        assert created.status_code == 200
        assert created.json()["user"]["role"] == "admin"
        assert (await client.get("/api/v1/auth/me")).json()["username"] == "root"
        again = await client.post("/api/v1/setup", json={**body, "username": "second"})
        assert again.status_code == 409
        assert (await client.get("/api/v1/setup/status")).json() == {"needs_setup": False}


async def test_setup_token_is_logged_once_and_only_its_hash_is_kept(
    empty_api_env: ApiEnv,
) -> None:
    state = empty_api_env.state
    assert state.setup_token_hash is not None
    assert SETUP_TOKEN not in state.setup_token_hash
    secret_files = [p for p in state.settings.data_dir.rglob("*") if p.is_file()]
    for path in secret_files:
        assert SETUP_TOKEN.encode() not in path.read_bytes()
