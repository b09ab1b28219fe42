"""Attacks on who opsgate thinks is asking: forged proxy headers, an ID token minted for
another client, an API token used beyond what its owner may do now.

Each goes through the public HTTP boundary of the real app; the identity provider is the real
one on loopback (`tests.fixtures.oidc`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opsgate.api import accounts
from opsgate.api.sessions import SESSION_COOKIE
from tests.api.test_oidc import oidc_settings, start
from tests.api.test_proxy_auth import identity, proxy_settings
from tests.fixtures.api import ApiEnv, running_app, wait_for
from tests.fixtures.oidc import Provider


async def test_forged_proxy_headers_from_a_non_proxy_address_are_refused(tmp_path: Path) -> None:
    forged = identity("admin", "ops-oncall")
    async with running_app(tmp_path / "data", **proxy_settings()) as env:
        async with env.client(address="10.0.0.6", headers=forged) as attacker:
            sign_in = await attacker.get("/api/v1/auth/proxy")
            assert sign_in.status_code == 401
            assert "came from 10.0.0.6, which is not a trusted proxy" in sign_in.text
            assert SESSION_COOKIE not in attacker.cookies
            me = await attacker.get("/api/v1/auth/me")
        assert me.status_code == 401
        assert "not a trusted proxy" in me.json()["error"]["message"]
        # Even with a valid credential of their own, the forged headers are refused, never read.
        async with env.client("viewer", address="192.0.2.7", headers=forged) as viewer:
            with_token = await viewer.get("/api/v1/users")
        assert with_token.status_code == 401
        assert "X-Forwarded-User and X-Forwarded-Groups" in with_token.json()["error"]["message"]
        assert await env.state.store.find_external_user("proxy", "admin") is None


async def test_an_id_token_for_another_audience_is_refused(
    tmp_path: Path, oidc_provider: Provider
) -> None:
    oidc_provider.set_user("u-mia", preferred_username="mia", groups=["ops-oncall"])
    async with (
        running_app(tmp_path / "data", **oidc_settings(oidc_provider)) as env,
        env.client() as browser,
    ):
        authorize = await start(browser)
        nonce = parse_qs(urlsplit(authorize).query)["nonce"][0]
        # A genuine, signed token response of the same provider, for the same person and even
        # the same nonce, but issued to another application (e.g. replayed by that app).
        other = await oidc_provider.tokens_for_client(
            "another-app", "u-mia", nonce, "http://127.0.0.1:9/callback"
        )
        oidc_provider.rewrite_tokens(lambda _ours: other)
        back = urlsplit(await oidc_provider.authorize(authorize, "u-mia"))
        answer = await browser.get(f"{back.path}?{back.query}")
        assert answer.status_code == 401
        assert "issued for another client, not &#x27;opsgate-tests&#x27;" in answer.text, (
            answer.text
        )
        assert SESSION_COOKIE not in browser.cookies
        assert await env.state.store.find_external_user("oidc", "u-mia") is None


async def _approval_of_a_scale(env: ApiEnv) -> tuple[str, str]:
    async with env.client("operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        await operator.post(
            f"/api/v1/conversations/{conversation['id']}/calls",
            json={"tool": "k_scale", "args": {"name": "frontend", "replicas": 4}},
        )

        async def pending() -> Any:
            answer = await operator.get("/api/v1/approvals", params={"status": "pending"})
            items = answer.json()["items"]
            return items[0] if items else None

        approval = await wait_for(pending)
    return approval["id"], approval["items"][0]["call_id"]


async def test_an_api_token_acts_with_its_owners_current_role_only(api_env: ApiEnv) -> None:
    approver = api_env.users["approver"]
    approval_id, call_id = await _approval_of_a_scale(api_env)
    await accounts.update_user(
        api_env.state.store,
        api_env.state.passwords,
        approver.id,
        role="viewer",
        actor=accounts.Actor.of(api_env.users["admin"]),
        via="api",
    )
    async with api_env.client("approver") as token_of_demoted:
        decide = await token_of_demoted.post(
            f"/api/v1/approvals/{approval_id}/decision",
            json={"call_id": call_id, "approve": True},
        )
        operate = await token_of_demoted.post("/api/v1/conversations", json={})
        me = (await token_of_demoted.get("/api/v1/auth/me")).json()
    assert decide.status_code == 403
    assert "role 'viewer' may not decide approvals" in decide.json()["error"]["message"]
    assert operate.status_code == 403
    assert me["role"] == "viewer"
    approval = await api_env.state.store.get_approval(approval_id)
    assert approval.status == "pending"
    assert api_env.cluster.mutations() == []
