"""The distinct-approver rule: on by default (a requester cannot approve their own change),
turned off only by an explicit setting for one-person setups, and reported by `/policy`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from opsgate.settings import Settings
from tests.fixtures.api import ApiEnv, running_app, wait_for


async def propose_as_admin(env: ApiEnv, client: httpx.AsyncClient) -> dict[str, Any]:
    """An admin (who may also approve) proposes a scale; its pending approval request."""
    conversation = (await client.post("/api/v1/conversations", json={})).json()
    await client.post(
        f"/api/v1/conversations/{conversation['id']}/calls",
        json={"tool": "k_scale", "args": {"name": "frontend", "replicas": 4}},
    )

    async def pending() -> list[dict[str, Any]]:
        response = await client.get("/api/v1/approvals", params={"status": "pending"})
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    approval: dict[str, Any] = (await wait_for(pending))[0]
    assert approval["proposed_by"] == env.users["admin"].id
    return approval


def test_the_rule_is_on_unless_turned_off() -> None:
    assert Settings(_env_file=None).require_distinct_approver is True  # type: ignore[call-arg]


async def test_by_default_the_requester_cannot_approve_their_own_change(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as env, env.client("admin") as admin:
        approval = await propose_as_admin(env, admin)
        own = await admin.post(
            f"/api/v1/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": True},
        )
        still = (await admin.get(f"/api/v1/approvals/{approval['id']}")).json()
        policy = (await admin.get("/api/v1/policy")).json()
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "decision_refused"
    assert "the requester of a change may not approve it" in own.json()["error"]["message"]
    assert still["status"] == "pending"
    assert env.cluster.mutations() == []
    assert policy["require_distinct_approver"] is True


async def test_turned_off_the_requester_may_approve_and_the_change_runs(tmp_path: Path) -> None:
    async with (
        running_app(tmp_path / "data", require_distinct_approver=False) as env,
        env.client("admin") as admin,
    ):
        policy = (await admin.get("/api/v1/policy")).json()
        approval = await propose_as_admin(env, admin)
        own = await admin.post(
            f"/api/v1/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": True},
        )

        async def scaled() -> bool:
            return env.cluster.mutations() == [("scale", "frontend", "4")]

        await wait_for(scaled)
    assert policy["require_distinct_approver"] is False
    assert (policy["approval_ttl_s"], policy["source"], policy["rules"]) == (900, "built-in", [])
    assert own.status_code == 200, own.text
