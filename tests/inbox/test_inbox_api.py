"""The approvals inbox over HTTP: what `GET /inbox` lists for whom, its columns and filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from opsgate.api.routes import inbox
from opsgate.domain.grants import Grant
from tests.fixtures.api import ApiEnv, running_app, wait_for


async def propose(
    client: httpx.AsyncClient, tool: str = "k_scale", args: dict[str, Any] | None = None
) -> str:
    """A new conversation with one direct call that waits for approval; the conversation id."""
    conversation = (await client.post("/api/v1/conversations", json={"title": tool})).json()
    answer = await client.post(
        f"/api/v1/conversations/{conversation['id']}/calls",
        json={"tool": tool, "args": args or {"name": "frontend", "replicas": 4}},
    )
    assert answer.status_code == 202, answer.text
    return str(conversation["id"])


async def inbox_of(client: httpx.AsyncClient, **filters: bool) -> dict[str, Any]:
    params = {name: "true" for name, on in filters.items() if on}
    answer = await client.get("/api/v1/inbox", params=params)
    assert answer.status_code == 200, answer.text
    listed: dict[str, Any] = answer.json()
    return listed


async def wait_inbox(client: httpx.AsyncClient, count: int) -> dict[str, Any]:
    async def enough() -> dict[str, Any] | None:
        listed = await inbox_of(client)
        return listed if listed["pending"] == count else None

    found: dict[str, Any] = await wait_for(enough)
    return found


async def test_an_approver_sees_every_pending_call_across_conversations(
    tmp_path: Path,
) -> None:
    async with (
        running_app(tmp_path / "data") as env,
        env.client("operator") as operator,
        env.client("approver") as approver,
    ):
        first = await propose(operator)
        second = await propose(operator, "k_delete", {"name": "legacy"})
        listed = await wait_inbox(approver, 2)
    rows = listed["items"]
    assert [row["conversation_id"] for row in rows] == [first, second]
    scale, delete = rows
    assert (scale["tool"], scale["args"]["replicas"], scale["context"]) == ("k_scale", 4, "sandbox")
    assert scale["conversation_title"] == "k_scale"
    assert (scale["proposed_by"], scale["proposed_by_name"]) == (
        env.users["operator"].id,
        "operator",
    )
    assert (scale["destructive"], delete["destructive"]) == (False, True)
    assert 850 < scale["seconds_left"] <= 900
    assert scale["expiring_soon"] is False
    assert (scale["waiting_on_me"], scale["proposed_by_me"]) == (True, False)
    assert (scale["requirement"], scale["progress"]) == (None, [])
    assert listed["waiting_on_me"] == 2


async def test_who_may_not_decide_gets_an_empty_inbox(api_env: ApiEnv) -> None:
    async with (
        api_env.client("operator") as operator,
        api_env.client("viewer") as viewer,
        api_env.client("approver") as approver,
    ):
        await propose(operator)
        await wait_inbox(approver, 1)
        for client in (operator, viewer):
            assert await inbox_of(client) == {"items": [], "pending": 0, "waiting_on_me": 0}


async def test_a_decided_call_leaves_the_inbox(api_env: ApiEnv) -> None:
    async with api_env.client("operator") as operator, api_env.client("approver") as approver:
        await propose(operator)
        row = (await wait_inbox(approver, 1))["items"][0]
        decided = await approver.post(
            f"/api/v1/approvals/{row['approval_id']}/decision",
            json={"call_id": row["call_id"], "approve": True},
        )
        assert decided.status_code == 200, decided.text
        assert await inbox_of(approver) == {"items": [], "pending": 0, "waiting_on_me": 0}


async def test_filters_keep_only_their_rows_and_the_counts_stay_whole(api_env: ApiEnv) -> None:
    async with api_env.client("operator") as operator, api_env.client("admin") as admin:
        await propose(operator)
        await propose(operator, "k_delete", {"name": "legacy"})
        # The admin's own change: listed (an admin may decide), but under the distinct-approver
        # rule (on by default) it does not wait on them.
        own = await propose(admin)
        await wait_inbox(admin, 3)
        destructive = await inbox_of(admin, destructive=True)
        mine = await inbox_of(admin, proposed_by_me=True)
        waiting = await inbox_of(admin, waiting_on_me=True)
        soon = await inbox_of(admin, expiring_soon=True)
    assert [row["tool"] for row in destructive["items"]] == ["k_delete"]
    assert (destructive["pending"], destructive["waiting_on_me"]) == (3, 2)
    assert [row["conversation_id"] for row in mine["items"]] == [own]
    assert mine["items"][0]["waiting_on_me"] is False
    assert [row["tool"] for row in waiting["items"]] == ["k_scale", "k_delete"]
    assert all(not row["proposed_by_me"] for row in waiting["items"])
    assert soon["items"] == []


async def test_a_request_close_to_its_expiry_is_expiring_soon(tmp_path: Path) -> None:
    async with (
        running_app(tmp_path / "data", approval_ttl_s=120) as env,
        env.client("operator") as operator,
        env.client("approver") as approver,
    ):
        await propose(operator)
        await wait_inbox(approver, 1)
        soon = await inbox_of(approver, expiring_soon=True)
    assert len(soon["items"]) == 1
    assert soon["items"][0]["seconds_left"] <= 120


async def test_a_filter_that_is_not_a_boolean_is_refused(api_env: ApiEnv) -> None:
    async with api_env.client("approver") as approver:
        answer = await approver.get("/api/v1/inbox", params={"destructive": "maybe"})
    assert answer.status_code == 422
    assert "destructive" in answer.text


async def test_a_scoped_approver_sees_only_what_their_grant_lets_them_decide(
    api_env: ApiEnv,
) -> None:
    store = api_env.state.store
    # Global viewers (they see every request) with an approver grant: one for the context the
    # change runs in, one for another context only.
    inside = await store.create_user("scoped-in", "viewer", None)
    outside = await store.create_user("scoped-out", "viewer", None)
    await store.grant_role(inside.id, Grant(role="approver", context="sandbox"))
    await store.grant_role(outside.id, Grant(role="approver", context="other"))
    async with api_env.client("operator") as operator, api_env.client("approver") as approver:
        await propose(operator)
        await wait_inbox(approver, 1)
    state = api_env.state
    granted = await inbox.inbox(state, await store.get_user(inside.id))
    elsewhere = await inbox.inbox(state, await store.get_user(outside.id))
    assert [row.tool for row in granted.items] == ["k_scale"]
    assert granted.items[0].decide_why == "approver for sandbox"
    assert granted.waiting_on_me == 1
    assert (elsewhere.items, elsewhere.pending) == ([], 0)
