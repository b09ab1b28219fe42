"""Trusted-proxy sign-in: identity headers count only from the configured proxy addresses.

The app runs with `proxy_auth` trusting 10.0.0.5/32; requests come through httpx's ASGI
transport from a chosen TCP peer address, as the proxy or as someone else would send them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from opsgate.api.sessions import SESSION_COOKIE
from opsgate.settings import ProxyAuthSettings
from tests.fixtures.api import ApiEnv, running_app

PROXY = "10.0.0.5"
ROLES = {"ops-devs": "operator", "ops-oncall": "approver"}


def proxy_settings() -> dict[str, Any]:
    return {
        "proxy_auth": ProxyAuthSettings(trusted_cidrs=[f"{PROXY}/32"]),  # type: ignore[list-item]
        "sso_roles": ROLES,
    }


@pytest.fixture
async def proxy_env(tmp_path: Path) -> AsyncIterator[ApiEnv]:
    async with running_app(tmp_path / "data", **proxy_settings()) as env:
        yield env


def identity(user: str, groups: str) -> dict[str, str]:
    return {"X-Forwarded-User": user, "X-Forwarded-Groups": groups}


async def test_the_proxy_signs_a_person_in_with_their_mapped_role(proxy_env: ApiEnv) -> None:
    headers = identity("grace@example.com", "ops-devs, ops-oncall")
    async with proxy_env.client(address=PROXY, headers=headers) as browser:
        answer = await browser.get("/api/v1/auth/proxy")
        assert answer.status_code == 200, answer.text
        assert SESSION_COOKIE in browser.cookies
        me = (await browser.get("/api/v1/auth/me")).json()
    assert (me["username"], me["role"], me["sign_in"]) == ("grace@example.com", "approver", "proxy")
    user = await proxy_env.state.store.find_external_user("proxy", "grace@example.com")
    assert user is not None
    assert user.groups == ("ops-devs", "ops-oncall")


async def test_a_proxy_user_in_no_mapped_group_is_refused(proxy_env: ApiEnv) -> None:
    async with proxy_env.client(address=PROXY, headers=identity("hal", "sales")) as browser:
        answer = await browser.get("/api/v1/auth/proxy")
        assert answer.status_code == 403
        assert "in no group that has access" in answer.text
        assert SESSION_COOKIE not in browser.cookies
    assert await proxy_env.state.store.find_external_user("proxy", "hal") is None


async def test_the_proxy_must_name_the_user(proxy_env: ApiEnv) -> None:
    async with proxy_env.client(address=PROXY) as browser:
        answer = await browser.get("/api/v1/auth/proxy")
    assert answer.status_code == 401
    assert "sent no X-Forwarded-User header" in answer.text


async def test_control_characters_in_the_user_header_are_refused(proxy_env: ApiEnv) -> None:
    async with proxy_env.client(
        address=PROXY, headers=identity("ivy\x7fadmin", "ops-oncall")
    ) as browser:
        answer = await browser.get("/api/v1/auth/proxy")
    assert answer.status_code == 422
    assert "control characters" in answer.text


async def test_without_proxy_sign_in_configured_the_route_does_not_exist(api_env: ApiEnv) -> None:
    async with api_env.client(address=PROXY, headers=identity("jo", "ops-oncall")) as browser:
        assert (await browser.get("/api/v1/auth/proxy")).status_code == 404
    async with api_env.client(
        "viewer", address="203.0.113.9", headers=identity("admin", "ops-oncall")
    ) as viewer:
        # The headers mean nothing here: the token's own user is who asks.
        assert (await viewer.get("/api/v1/auth/me")).json()["username"] == "viewer"


async def test_sign_in_methods_offer_the_proxy(proxy_env: ApiEnv) -> None:
    async with proxy_env.client() as browser:
        methods = (await browser.get("/api/v1/auth/methods")).json()
    assert methods == {"local": True, "oidc": None, "proxy": True}


async def test_an_overlong_user_header_is_refused(proxy_env: ApiEnv) -> None:
    async with proxy_env.client(
        address=PROXY, headers=identity("u" * 256, "ops-oncall")
    ) as browser:
        answer = await browser.get("/api/v1/auth/proxy")
    assert answer.status_code == 422
    assert "1 to 255 characters" in answer.text


async def test_a_session_ends_when_the_proxy_names_someone_else(proxy_env: ApiEnv) -> None:
    async with proxy_env.client(address=PROXY, headers=identity("kim", "ops-devs")) as browser:
        assert (await browser.get("/api/v1/auth/proxy")).status_code == 200
        assert (await browser.get("/api/v1/auth/me")).json()["username"] == "kim"
        browser.headers.update(identity("lee", "ops-oncall"))
        switched = await browser.get("/api/v1/auth/me")
    assert switched.status_code == 401
    assert "the proxy now names someone else" in switched.json()["error"]["message"]
