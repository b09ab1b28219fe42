"""Grants over the admin API: audited, admin only (a scoped grant never reaches admin routes),
and `GET /auth/me` tells the Command Center which grants the user holds."""

from __future__ import annotations

from tests.fixtures.api import ApiEnv


async def test_an_admin_grants_and_revokes_over_the_api_and_each_change_is_audited(
    api_env: ApiEnv,
) -> None:
    viewer = api_env.users["viewer"]
    async with api_env.client("admin") as admin, api_env.client("viewer") as client:
        granted = await admin.post(
            f"/api/v1/users/{viewer.id}/grants",
            json={"role": "approver", "context": "prod", "namespace": "payments"},
        )
        assert granted.status_code == 201, granted.text
        assert granted.json()["grants"] == [
            {"role": "approver", "context": "prod", "namespace": "payments"}
        ]
        me = (await client.get("/api/v1/auth/me")).json()
        assert me["grants"] == [{"role": "approver", "context": "prod", "namespace": "payments"}]

        bad = await admin.post(
            f"/api/v1/users/{viewer.id}/grants",
            json={"role": "admin", "context": "prod"},
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "role"
        # A grant of approver somewhere does not open the admin routes.
        assert (await client.get("/api/v1/users")).status_code == 403

        revoked = await admin.delete(
            f"/api/v1/users/{viewer.id}/grants",
            params={"context": "prod", "namespace": "payments"},
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["grants"] == []
        again = await admin.delete(
            f"/api/v1/users/{viewer.id}/grants",
            params={"context": "prod", "namespace": "payments"},
        )
        assert again.status_code == 404
    events = [
        e
        for e in await api_env.state.store.list_audit(limit=1000)
        if e.kind in ("user.granted", "user.grant_revoked")
    ]
    assert [(e.kind, e.actor_name, e.payload["via"]) for e in events] == [
        ("user.granted", "admin", "api"),
        ("user.grant_revoked", "admin", "api"),
    ]
