"""Single sign-on against a real OpenID Connect provider on loopback (`oidc-provider-mock`).

The app runs with its lifespan; the test plays the browser: it follows `/auth/oidc/start` to
the provider, signs in there as a subject whose claims it set, and brings the redirect back
to the callback. Nothing stands in for the verifier: tampered and expired ID tokens are real
tokens from the provider, altered on the wire or issued expired.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from opsgate.api import oidc
from opsgate.api.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from opsgate.settings import OidcSettings
from tests.fixtures.api import PASSWORD, ApiEnv, running_app
from tests.fixtures.oidc import Provider

CLIENT_ID = "opsgate-tests"
ROLES = {"ops-viewers": "viewer", "ops-devs": "operator", "ops-oncall": "approver"}


def oidc_settings(provider: Provider) -> dict[str, Any]:
    return {
        "oidc": OidcSettings(
            issuer=provider.url,
            client_id=CLIENT_ID,
            client_secret="client-secret-for-tests",  # type: ignore[arg-type]
            display_name="Test IdP",
        ),
        "sso_roles": ROLES,
        "public_url": "http://testserver",
    }


@pytest.fixture
async def sso_env(tmp_path: Path, oidc_provider: Provider) -> AsyncIterator[ApiEnv]:
    async with running_app(tmp_path / "sso", **oidc_settings(oidc_provider)) as env:
        yield env


async def start(client: httpx.AsyncClient) -> str:
    """`/auth/oidc/start`: the provider's authorization URL it redirects to."""
    answer = await client.get("/api/v1/auth/oidc/start")
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


async def sign_in(client: httpx.AsyncClient, provider: Provider, sub: str) -> httpx.Response:
    """The whole round trip as a browser makes it; returns the callback's answer."""
    back = await provider.authorize(await start(client), sub)
    parts = urlsplit(back)
    assert parts.path == oidc.CALLBACK_PATH
    return await client.get(f"{parts.path}?{parts.query}")


async def audit_kinds(env: ApiEnv) -> list[dict[str, Any]]:
    events = await env.state.store.list_audit(limit=500)
    return [{"kind": e.kind, **e.payload} for e in events]


async def test_first_sign_in_creates_the_user_with_the_highest_mapped_role(
    sso_env: ApiEnv, oidc_provider: Provider
) -> None:
    oidc_provider.set_user(
        "u-alice", preferred_username="alice", groups=["ops-devs", "ops-oncall", "unmapped"]
    )
    async with sso_env.client() as browser:
        answer = await sign_in(browser, oidc_provider, "u-alice")
        assert answer.status_code == 200, answer.text
        assert 'http-equiv="refresh"' in answer.text
        me = (await browser.get("/api/v1/auth/me")).json()
    assert me["username"] == "alice"
    assert me["role"] == "approver"
    assert me["sign_in"] == "oidc"
    user = await sso_env.state.store.find_external_user("oidc", "u-alice")
    assert user is not None
    assert user.groups == ("ops-devs", "ops-oncall", "unmapped")
    assert user.id == me["id"]
    logins = [e for e in await audit_kinds(sso_env) if e["kind"] == "user.sso_login"]
    assert logins[-1]["role"] == "approver"
    assert logins[-1]["created"] is True


async def test_the_role_is_re_evaluated_at_every_sign_in(
    sso_env: ApiEnv, oidc_provider: Provider
) -> None:
    oidc_provider.set_user("u-bob", preferred_username="bob", groups=["ops-oncall"])
    async with sso_env.client() as browser:
        assert (await sign_in(browser, oidc_provider, "u-bob")).status_code == 200
        first = (await browser.get("/api/v1/auth/me")).json()
    oidc_provider.set_user("u-bob", preferred_username="bob", groups=["ops-viewers"])
    async with sso_env.client() as browser:
        assert (await sign_in(browser, oidc_provider, "u-bob")).status_code == 200
        second = (await browser.get("/api/v1/auth/me")).json()
        refused = await browser.post(
            "/api/v1/conversations",
            json={"title": "x"},
            headers={CSRF_HEADER: browser.cookies[CSRF_COOKIE]},
        )
    assert (first["role"], second["role"]) == ("approver", "viewer")
    assert first["id"] == second["id"]
    assert refused.status_code == 403


async def test_a_user_in_no_mapped_group_is_refused_and_nothing_is_created(
    sso_env: ApiEnv, oidc_provider: Provider
) -> None:
    before = await sso_env.state.store.count_users()
    oidc_provider.set_user("u-eve", preferred_username="eve", groups=["marketing"])
    async with sso_env.client() as browser:
        answer = await sign_in(browser, oidc_provider, "u-eve")
        assert answer.status_code == 403
        assert "No access to opsgate" in answer.text
        assert "in no group that has access" in answer.text
        assert SESSION_COOKIE not in browser.cookies
        assert (await browser.get("/api/v1/auth/me")).status_code == 401
    assert await sso_env.state.store.count_users() == before
    assert await sso_env.state.store.find_external_user("oidc", "u-eve") is None
    refused = [e for e in await audit_kinds(sso_env) if e["kind"] == "user.sso_refused"]
    assert refused[-1]["subject"] == "u-eve"
    assert refused[-1]["groups"] == ["marketing"]


def _tamper(token: dict[str, Any]) -> dict[str, Any]:
    """Give the ID token's holder the on-call group, keeping the provider's signature."""
    header, payload, signature = token["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["groups"] = ["ops-oncall"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {**token, "id_token": f"{header}.{forged}.{signature}"}


async def test_a_tampered_id_token_is_refused(sso_env: ApiEnv, oidc_provider: Provider) -> None:
    oidc_provider.set_user("u-mallory", preferred_username="mallory", groups=["ops-viewers"])
    oidc_provider.rewrite_tokens(_tamper)
    async with sso_env.client() as browser:
        answer = await sign_in(browser, oidc_provider, "u-mallory")
        assert answer.status_code == 401
        assert "signature does not verify" in answer.text
        assert SESSION_COOKIE not in browser.cookies
    assert await sso_env.state.store.find_external_user("oidc", "u-mallory") is None


async def test_an_expired_id_token_is_refused(
    tmp_path: Path, expired_oidc_provider: Provider
) -> None:
    expired_oidc_provider.set_user("u-old", preferred_username="old", groups=["ops-oncall"])
    async with (
        running_app(tmp_path / "data", **oidc_settings(expired_oidc_provider)) as env,
        env.client() as browser,
    ):
        answer = await sign_in(browser, expired_oidc_provider, "u-old")
        assert answer.status_code == 401
        assert "the ID token has expired" in answer.text
        assert SESSION_COOKIE not in browser.cookies
        assert await env.state.store.find_external_user("oidc", "u-old") is None


async def test_the_request_carries_state_nonce_and_an_s256_challenge_of_the_attempt(
    sso_env: ApiEnv,
) -> None:
    async with sso_env.client() as browser:
        query = parse_qs(urlsplit(await start(browser)).query)
        attempt = sso_env.state.oidc_attempts.decode(browser.cookies[oidc.ATTEMPT_COOKIE])  # type: ignore[union-attr]
    assert attempt is not None
    digest = hashlib.sha256(attempt.verifier.encode()).digest()
    assert query["code_challenge"] == [base64.urlsafe_b64encode(digest).rstrip(b"=").decode()]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"] == [attempt.state]
    assert query["nonce"] == [attempt.nonce]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver" + oidc.CALLBACK_PATH]
    assert "openid" in query["scope"][0].split()


@pytest.mark.parametrize("forged", ["state-of-another-browser", "\u00e9t\u00e9"])
async def test_a_callback_with_another_state_is_refused(
    sso_env: ApiEnv, oidc_provider: Provider, forged: str
) -> None:
    oidc_provider.set_user("u-carol", groups=["ops-oncall"])
    async with sso_env.client() as browser:
        back = await oidc_provider.authorize(await start(browser), "u-carol")
        parts = urlsplit(back)
        query = httpx.QueryParams(code=parse_qs(parts.query)["code"][0], state=forged)
        answer = await browser.get(f"{parts.path}?{query}")
        # The attempt is spent: replaying the genuine redirect afterwards fails too.
        replay = await browser.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 401
    assert "state does not match" in answer.text
    assert replay.status_code == 401
    assert await sso_env.state.store.find_external_user("oidc", "u-carol") is None


async def test_a_callback_without_a_started_attempt_is_refused(
    sso_env: ApiEnv, oidc_provider: Provider
) -> None:
    oidc_provider.set_user("u-dan", groups=["ops-oncall"])
    async with sso_env.client() as starter:
        back = await oidc_provider.authorize(await start(starter), "u-dan")
    async with sso_env.client() as other_browser:
        parts = urlsplit(back)
        answer = await other_browser.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 401
    assert "not started in this browser" in answer.text


async def test_logout_ends_the_session_and_names_the_providers_logout(
    sso_env: ApiEnv, oidc_provider: Provider
) -> None:
    oidc_provider.set_user("u-frank", preferred_username="frank", groups=["ops-devs"])
    async with sso_env.client() as browser:
        assert (await sign_in(browser, oidc_provider, "u-frank")).status_code == 200
        cookie = browser.cookies[SESSION_COOKIE]
        out = await browser.post(
            "/api/v1/auth/logout", headers={CSRF_HEADER: browser.cookies[CSRF_COOKIE]}
        )
    assert out.status_code == 200
    url = out.json()["provider_logout_url"]
    assert url.startswith(f"{oidc_provider.url}/oauth2/end_session?")
    assert parse_qs(urlsplit(url).query)["post_logout_redirect_uri"] == ["http://testserver/login"]
    async with sso_env.client(cookies={SESSION_COOKIE: cookie}) as replay:
        assert (await replay.get("/api/v1/auth/me")).status_code == 401


async def test_sign_in_methods_name_the_provider(sso_env: ApiEnv) -> None:
    async with sso_env.client() as browser:
        methods = (await browser.get("/api/v1/auth/methods")).json()
    assert methods == {
        "local": True,
        "oidc": {"display_name": "Test IdP", "start_url": "/api/v1/auth/oidc/start"},
        "proxy": False,
    }


async def test_an_sso_user_never_takes_over_a_local_account_of_the_same_name(
    sso_env: ApiEnv, oidc_provider: Provider
) -> None:
    # `admin` is a local user of the test app; the provider calls someone else that too.
    oidc_provider.set_user("u-imposter", preferred_username="admin", groups=["ops-viewers"])
    async with sso_env.client() as browser:
        assert (await sign_in(browser, oidc_provider, "u-imposter")).status_code == 200
        me = (await browser.get("/api/v1/auth/me")).json()
    assert me["username"] == "admin-oidc"
    assert me["role"] == "viewer"
    assert me["id"] != sso_env.users["admin"].id


async def test_local_login_turns_off_only_with_sso_configured_and_is_audited(
    sso_env: ApiEnv, api_env: ApiEnv
) -> None:
    async with api_env.client("admin") as admin_without_sso:
        refused = await admin_without_sso.put("/api/v1/local-login", json={"enabled": False})
    assert refused.status_code == 409
    assert "OPSGATE_OIDC__" in refused.json()["error"]["message"]
    async with sso_env.client("admin") as admin:
        off = await admin.put("/api/v1/local-login", json={"enabled": False})
        assert off.json() == {"enabled": False, "can_turn_off": True}
    async with sso_env.client() as browser:
        login = await browser.post(
            "/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD}
        )
        assert login.status_code == 403
        assert "password sign-in is turned off" in login.json()["error"]["message"]
        assert (await browser.get("/api/v1/auth/methods")).json()["local"] is False
    changes = [e for e in await audit_kinds(sso_env) if e["kind"] == "settings.local_login"]
    assert changes == [{"kind": "settings.local_login", "enabled": False, "via": "api"}]
