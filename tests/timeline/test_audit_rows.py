"""`GET /audit` for investigations: each row's facts and conversation title, the tool, object
and outcome filters, and the toggle that hides sign-ins."""

from __future__ import annotations

from typing import Any

from tests.fixtures.api import ApiEnv, wait_for
from tests.timeline.flows import pending_approvals


async def test_tool_filter_finds_the_approval_of_a_delete_and_its_approver(
    api_env: ApiEnv,
) -> None:
    async with api_env.client("operator") as operator, api_env.client("approver") as approver:
        conversation = (
            await operator.post("/api/v1/conversations", json={"title": "Clean up frontend"})
        ).json()
        started = await operator.post(
            f"/api/v1/conversations/{conversation['id']}/calls",
            json={"tool": "k_delete", "args": {"name": "frontend"}},
        )
        assert started.status_code == 202, started.text
        pending = await wait_for(lambda: pending_approvals(approver, conversation["id"]))
        decided = await approver.post(
            f"/api/v1/approvals/{pending[0]['id']}/decision",
            json={"call_id": pending[0]["items"][0]["call_id"], "approve": True, "reason": "old"},
        )
        assert decided.status_code == 200, decided.text
        page = await approver.get(
            "/api/v1/audit", params={"tool": "k_delete", "kind": "approval.granted"}
        )
    (granted,) = page.json()["items"]
    assert granted["actor_name"] == "approver"
    assert granted["payload"]["reason"] == "old"
    assert granted["conversation_title"] == "Clean up frontend"
    assert granted["facts"]["tool"] == "k_delete"
    assert granted["facts"]["outcome"] == "approved"


async def _seed(env: ApiEnv) -> str:
    store = env.state.store
    owner = env.users["operator"]
    conversation = await store.create_conversation("Web outage", owner.id, ["sandbox"])
    events: list[tuple[str, dict[str, Any], str | None]] = [
        ("user.login", {"address": "127.0.0.1"}, None),
        ("tool.started", {"tool": "k8s_scale", "args": {"resource": "deployment/web"}}, "c1"),
        ("tool.finished", {"tool": "k8s_scale", "status": "failed"}, "c1"),
        ("tool.started", {"tool": "k8s_scale", "args": {"resource": "deployment/api"}}, "c2"),
        ("tool.finished", {"tool": "k8s_scale", "status": "succeeded"}, "c2"),
    ]
    for kind, payload, call_id in events:
        await store.append_audit(
            kind,  # type: ignore[arg-type]
            payload,
            actor_id=owner.id,
            actor_name=owner.username,
            conversation_id=conversation.id if call_id else None,
            call_id=call_id,
        )
    return conversation.id


async def test_object_and_outcome_filters_match_rows_and_results_take_their_calls_object(
    api_env: ApiEnv,
) -> None:
    conversation_id = await _seed(api_env)
    async with api_env.client("viewer") as viewer:
        web = (await viewer.get("/api/v1/audit", params={"object": "deployment/web"})).json()
        failed = (await viewer.get("/api/v1/audit", params={"outcome": "failed"})).json()
        bad = await viewer.get("/api/v1/audit", params={"outcome": "fine"})
    assert [(r["kind"], r["call_id"]) for r in web["items"]] == [
        ("tool.started", "c1"),
        ("tool.finished", "c1"),
    ]
    assert {r["conversation_title"] for r in web["items"]} == {"Web outage"}
    assert {r["conversation_id"] for r in web["items"]} == {conversation_id}
    assert [(r["call_id"], r["facts"]["object"]) for r in failed["items"]] == [
        ("c1", "deployment/web")
    ]
    assert bad.status_code == 422


async def test_hide_logins_leaves_sign_ins_out_and_pages_keep_scanning(api_env: ApiEnv) -> None:
    await _seed(api_env)
    async with api_env.client("viewer") as viewer:
        everything = (await viewer.get("/api/v1/audit")).json()["items"]
        hidden = (await viewer.get("/api/v1/audit", params={"hide_logins": "true"})).json()
        first = (
            await viewer.get("/api/v1/audit", params={"outcome": "succeeded", "limit": 1})
        ).json()
    assert "user.login" in {r["kind"] for r in everything}
    assert "user.login" not in {r["kind"] for r in hidden["items"]}
    assert len(hidden["items"]) == len(everything) - 1
    (succeeded,) = first["items"]
    assert succeeded["call_id"] == "c2"
    assert first["next_after_seq"] == succeeded["seq"]
