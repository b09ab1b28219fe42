"""Admin routes: users and roles, API tokens, Jenkins servers; all audited, none self-raising."""

from __future__ import annotations

from typing import get_args

from opsgate.domain import audit_payloads as ap
from opsgate.domain.audit import AuditKind
from opsgate.domain.canonical import canonical_json
from tests.fixtures.api import ODD_USERNAMES, PASSWORD, ApiEnv


async def test_admin_creates_a_user_who_can_sign_in(api_env: ApiEnv) -> None:
    async with api_env.client("admin") as admin:
        created = await admin.post(
            "/api/v1/users", json={"username": "dana", "role": "approver", "password": PASSWORD}
        )
        assert created.status_code == 201
        assert created.json()["role"] == "approver"
        assert "password_hash" not in created.json()
        duplicate = await admin.post(
            "/api/v1/users", json={"username": "dana", "role": "viewer", "password": PASSWORD}
        )
        assert duplicate.status_code == 409
    async with api_env.client() as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "dana", "password": PASSWORD}
        )
        assert login.status_code == 200


async def test_lookalike_and_invisible_usernames_are_refused_naming_the_field(
    api_env: ApiEnv,
) -> None:
    async with api_env.client("admin") as admin:
        for name in ODD_USERNAMES:
            response = await admin.post(
                "/api/v1/users", json={"username": name, "role": "viewer", "password": PASSWORD}
            )
            assert response.status_code == 422, name
            assert response.json()["error"]["field"] == "username"
            assert "must be" in response.json()["error"]["message"]
    assert len(await api_env.state.store.list_users()) == 4


async def test_short_password_is_refused_naming_the_field(api_env: ApiEnv) -> None:
    async with api_env.client("admin") as admin:
        response = await admin.post(
            "/api/v1/users", json={"username": "eve", "role": "viewer", "password": "short"}
        )
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "password"


async def test_no_role_may_raise_its_own_role(api_env: ApiEnv) -> None:
    for role in ("viewer", "operator", "approver"):
        async with api_env.client(role) as client:
            me = api_env.users[role]
            response = await client.patch(f"/api/v1/users/{me.id}", json={"role": "admin"})
            assert response.status_code == 403, role
    async with api_env.client("admin") as admin:
        own = api_env.users["admin"]
        response = await admin.patch(f"/api/v1/users/{own.id}", json={"role": "viewer"})
        assert response.status_code == 403
    stored = await api_env.state.store.get_user(api_env.users["viewer"].id)
    assert stored.role == "viewer"


async def test_disabling_a_user_cuts_off_their_token(api_env: ApiEnv) -> None:
    viewer = api_env.users["viewer"]
    async with api_env.client("viewer") as client:
        assert (await client.get("/api/v1/auth/me")).status_code == 200
        async with api_env.client("admin") as admin:
            response = await admin.patch(f"/api/v1/users/{viewer.id}", json={"disabled": True})
            assert response.status_code == 200
        assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_token_is_shown_once_works_and_stops_after_revoke(api_env: ApiEnv) -> None:
    async with api_env.client("admin") as admin:
        created = await admin.post("/api/v1/tokens", json={"name": "ci", "expires_in_days": 7})
        assert created.status_code == 201
        token = created.json()["token"]
        token_id = created.json()["record"]["id"]
        listed = (await admin.get("/api/v1/tokens")).json()["items"]
        assert token not in str(listed)
        async with api_env.client() as client:
            headers = {"Authorization": f"Bearer {token}"}
            me = await client.get("/api/v1/auth/me", headers=headers)
            assert me.json()["username"] == "admin"
            assert (await admin.delete(f"/api/v1/tokens/{token_id}")).status_code == 200
            assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_jenkins_server_token_is_never_returned(api_env: ApiEnv) -> None:
    secret = "jenkins-api-token-value-123"
    async with api_env.client("admin") as admin:
        put = await admin.put(
            "/api/v1/jenkins-servers/ci",
            json={"url": "http://127.0.0.1:9/", "user": "bot", "token": secret},
        )
        assert put.status_code == 200
        got = await admin.get("/api/v1/jenkins-servers/ci")
        listed = await admin.get("/api/v1/jenkins-servers")
        for response in (put, got, listed):
            assert secret not in response.text
        assert got.json()["user"] == "bot"
        assert (await admin.delete("/api/v1/jenkins-servers/ci")).status_code == 204
        assert (await admin.get("/api/v1/jenkins-servers/ci")).status_code == 404
        audit = (await admin.get("/api/v1/audit", params={"kind": "settings."})).json()["items"]
        assert [e["payload"]["action"] for e in audit] == ["upsert", "delete"]
        assert secret not in str(audit)


async def test_admin_actions_are_audited_with_the_admin_as_actor(api_env: ApiEnv) -> None:
    async with api_env.client("admin") as admin:
        user = (
            await admin.post("/api/v1/users", json={"username": "fay", "role": "viewer"})
        ).json()
        await admin.patch(f"/api/v1/users/{user['id']}", json={"role": "operator"})
        token = (await admin.post("/api/v1/tokens", json={"name": "t"})).json()
        await admin.delete(f"/api/v1/tokens/{token['record']['id']}")
        events = (await admin.get("/api/v1/audit", params={"actor": "admin"})).json()["items"]
    kinds = [e["kind"] for e in events]
    assert kinds == ["user.created", "user.updated", "token.created", "token.revoked"]
    assert events[1]["payload"]["changes"]["role"] == {"from": "viewer", "to": "operator"}
    assert token["token"] not in str(events)


async def test_non_admins_cannot_reach_admin_routes(api_env: ApiEnv) -> None:
    for role in ("viewer", "operator", "approver"):
        async with api_env.client(role) as client:
            assert (await client.get("/api/v1/users")).status_code == 403
            assert (await client.get("/api/v1/jenkins-servers")).status_code == 403


ACCOUNT_KEYS = {
    "user.created": {"user_id", "username", "role", "via"},
    "user.updated": {"user_id", "username", "changes", "via"},
    "user.disabled": {"user_id", "username", "changes", "via"},
    "user.login": {"address"},
    "token.created": {
        "token_id",
        "name",
        "user_id",
        "username",
        "prefix",
        "expires_at",
        "created_by",
        "via",
    },
    "token.revoked": {"token_id", "name", "user_id", "via"},
    "settings.changed": {"jenkins_server", "action", "url", "user"},
}


async def test_every_account_and_settings_event_is_its_models_dump(api_env: ApiEnv) -> None:
    async with api_env.client("admin") as admin:
        user = (
            await admin.post(
                "/api/v1/users", json={"username": "gus", "role": "viewer", "password": PASSWORD}
            )
        ).json()
        await admin.patch(f"/api/v1/users/{user['id']}", json={"role": "operator"})
        async with api_env.client() as gus:
            signed_in = await gus.post(
                "/api/v1/auth/login", json={"username": "gus", "password": PASSWORD}
            )
            assert signed_in.status_code == 200, signed_in.text
        token = (await admin.post("/api/v1/tokens", json={"name": "t"})).json()
        await admin.delete(f"/api/v1/tokens/{token['record']['id']}")
        body = {"url": "http://127.0.0.1:9/", "user": "bot", "token": "jenkins-token-value-1"}
        await admin.put("/api/v1/jenkins-servers/ci", json=body)
        await admin.delete("/api/v1/jenkins-servers/ci")
        await admin.patch(f"/api/v1/users/{user['id']}", json={"disabled": True})
        events = (await admin.get("/api/v1/audit", params={"limit": 500})).json()["items"]
    seen: set[str] = set()
    for event in events:
        model = ap.AUDIT_PAYLOADS[event["kind"]]
        typed = model.model_validate(event["payload"])
        assert canonical_json(typed.payload()) == canonical_json(event["payload"]), event["kind"]
        if event["kind"] in ACCOUNT_KEYS:
            expected = ACCOUNT_KEYS[event["kind"]]
            if event["payload"].get("action") == "delete":
                expected = {"jenkins_server", "action"}
            assert set(event["payload"]) == expected, event["kind"]
            seen.add(event["kind"])
    assert seen == set(ACCOUNT_KEYS)


def test_every_audit_kind_has_a_payload_model() -> None:
    assert set(ap.AUDIT_PAYLOADS) == set(get_args(AuditKind))
    assert all(kind == model.kind for kind, model in ap.AUDIT_PAYLOADS.items())
