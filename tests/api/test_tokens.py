"""API tokens belong to whoever made them: nobody mints one for someone else over the API, and a
token made on someone's behalf (by the CLI, on the database) cannot decide approvals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from opsgate.store.records import AuditFilter
from tests.fixtures.api import ApiEnv, running_app, wait_for
from tests.fixtures.cli import RunCli


async def _pending(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/approvals", params={"status": "pending"})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_admin_cannot_create_a_token_for_another_user(api_env: ApiEnv) -> None:
    approver = api_env.users["approver"]
    before = await api_env.state.store.list_tokens(approver.id)
    async with api_env.client("admin") as admin:
        refused = await admin.post(
            "/api/v1/tokens", json={"name": "borrowed", "user_id": approver.id}
        )
    assert refused.status_code == 403
    assert "owner" in refused.json()["error"]["message"]
    assert await api_env.state.store.list_tokens(approver.id) == before


async def test_every_user_creates_lists_and_revokes_only_their_own_tokens(
    api_env: ApiEnv,
) -> None:
    operator = api_env.users["operator"]
    async with api_env.client("operator") as client:
        created = await client.post("/api/v1/tokens", json={"name": "laptop"})
        assert created.status_code == 201
        record = created.json()["record"]
        assert record["user_id"] == operator.id
        assert record["created_by"] == operator.id
        listed = (await client.get("/api/v1/tokens")).json()["items"]
        assert {t["user_id"] for t in listed} == {operator.id}
        others = await client.get("/api/v1/tokens", params={"user_id": api_env.users["admin"].id})
        assert others.status_code == 403
        admin_token = (await api_env.state.store.list_tokens(api_env.users["admin"].id))[0]
        assert (await client.delete(f"/api/v1/tokens/{admin_token.id}")).status_code == 403
        assert (await client.delete(f"/api/v1/tokens/{record['id']}")).status_code == 200
    async with api_env.client("admin") as admin:
        everyone = (await admin.get("/api/v1/tokens")).json()["items"]
        assert len({t["user_id"] for t in everyone}) == 4
        viewer_token = (await api_env.state.store.list_tokens(api_env.users["viewer"].id))[0]
        revoked = await admin.delete(f"/api/v1/tokens/{viewer_token.id}")
        assert revoked.status_code == 200
    (still,) = await api_env.state.store.list_tokens(api_env.users["admin"].id)
    assert still.revoked_at is None


async def test_a_token_made_on_someones_behalf_cannot_decide(
    tmp_path: Path, run_cli: RunCli
) -> None:
    async with running_app(tmp_path / "data", require_distinct_approver=True) as env:
        made = await asyncio.to_thread(run_cli, "tokens", "create", "approver", "--name", "lent")
        assert made.returncode == 0, made.stderr
        borrowed = made.stdout.strip().splitlines()[-1]
        async with env.client("admin") as admin:
            conversation = (await admin.post("/api/v1/conversations", json={})).json()
            await admin.post(
                f"/api/v1/conversations/{conversation['id']}/calls",
                json={"tool": "k_scale", "args": {"name": "frontend", "replicas": 4}},
            )
            approval = (await wait_for(lambda: _pending(admin)))[0]
        decision = {"call_id": approval["items"][0]["call_id"], "approve": True}
        url = f"/api/v1/approvals/{approval['id']}/decision"
        async with env.client(headers={"Authorization": f"Bearer {borrowed}"}) as lent:
            assert (await lent.get("/api/v1/auth/me")).json()["username"] == "approver"
            refused = await lent.post(url, json=decision)
            assert refused.status_code == 403
            assert "created by" in refused.json()["error"]["message"]
            all_refused = await lent.post(
                f"/api/v1/approvals/{approval['id']}/decide-all", json={"approve": True}
            )
            assert all_refused.status_code == 403
            # Nor can it mint a token of the approver's own to launder its origin.
            laundered = await lent.post("/api/v1/tokens", json={"name": "clean"})
            assert laundered.status_code == 403
        assert env.cluster.mutations() == []
        events = await env.state.store.list_audit(
            AuditFilter(kind="approval.refused"), limit=10, after_seq=0
        )
        assert [e.actor_name for e in events] == ["approver", "approver"]
        assert events[0].payload["approval_id"] == approval["id"]
        assert events[0].conversation_id == conversation["id"]

        async with env.client("approver") as own:
            approved = await own.post(url, json=decision)
            assert approved.status_code == 200

        async def scaled() -> bool:
            return env.cluster.mutations() == [("scale", "frontend", "4")]

        await wait_for(scaled)
