"""The policy over HTTP: show, check and save (admins only, audited with a diff), approval
payloads with the requirement and its progress, and a decision a rule refuses."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.test_distinct_approver import propose_as_admin
from tests.fixtures.api import ApiEnv, running_app, wait_for

TWO_APPROVERS = """rules:
  - id: two-people
    message: scaling needs two people
    match: {tool: k_scale}
    require: {approvals: 2, approver_roles: [approver, admin]}
"""


async def _save(client: httpx.AsyncClient, text: str) -> httpx.Response:
    return await client.put("/api/v1/policy", json={"text": text})


async def test_only_admins_check_and_save_and_a_refused_draft_names_its_line(
    api_env: ApiEnv,
) -> None:
    async with api_env.client("approver") as approver, api_env.client("admin") as admin:
        assert (await _save(approver, TWO_APPROVERS)).status_code == 403
        bad = TWO_APPROVERS.replace("approvals: 2", "approvals: 0")
        checked = (await admin.post("/api/v1/policy/check", json={"text": bad})).json()
        refused = await _save(admin, bad)
        shown = (await approver.get("/api/v1/policy")).json()
    assert checked["ok"] is False
    assert checked["line"] == 5
    assert "approvals: must be at least 1" in checked["error"]
    assert refused.status_code == 422
    assert "line 5" in refused.json()["error"]["message"]
    assert (shown["source"], shown["rules"]) == ("built-in", [])


async def test_a_saved_policy_is_active_at_once_and_audited_with_a_diff(api_env: ApiEnv) -> None:
    async with api_env.client("admin") as admin:
        saved = await _save(admin, TWO_APPROVERS)
        shown = (await admin.get("/api/v1/policy")).json()
        events = (await admin.get("/api/v1/audit", params={"kind": "policy.changed"})).json()
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"ok": True, "rules": ["two-people"], "error": None, "line": None}
    assert (shown["source"], shown["rules"], shown["text"]) == (
        "saved",
        ["two-people"],
        TWO_APPROVERS,
    )
    [event] = events["items"]
    assert event["actor_name"] == "admin"
    assert event["payload"]["previous"] == "built-in"
    assert event["payload"]["version_id"] == shown["version"]
    assert "+  - id: two-people" in event["payload"]["diff"]


async def test_the_payload_shows_progress_and_a_refused_decision_says_the_rule(
    tmp_path: Path,
) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(TWO_APPROVERS)
    async with (
        running_app(tmp_path / "data", policy_file=policy_file) as env,
        env.client("admin") as admin,
        env.client("approver") as approver,
        env.client("operator") as operator,
    ):
        approval = await propose_as_admin(env, admin)
        [item] = approval["items"]
        assert item["requirement"]["rules"][0]["rule_id"] == "two-people"
        assert item["progress"] == [
            "2 of 2 approvals from role approver or admin needed; 0 given [rule two-people]"
        ]
        url = f"/api/v1/approvals/{approval['id']}/decision"
        first = await approver.post(url, json={"call_id": item["call_id"], "approve": True})
        assert first.status_code == 200, first.text
        [after] = first.json()["approval"]["items"]
        assert after["status"] == "pending"
        assert after["progress"] == [
            "2 of 2 approvals from role approver or admin needed; 1 given (approver) "
            "[rule two-people]"
        ]
        again = await approver.post(url, json={"call_id": item["call_id"], "approve": True})
        assert again.status_code == 403
        assert "approver has already approved" in again.json()["error"]["message"]
        assert env.cluster.mutations() == []
        # The operator's token cannot decide at all; the admin proposed, so may not approve.
        assert (
            await operator.post(url, json={"call_id": item["call_id"], "approve": True})
        ).status_code == 403

        second = await env.state.store.create_user("second", "approver", None)
        await env.state.engine.decide(approval["id"], item["call_id"], second, True, None)

        async def scaled() -> bool:
            return env.cluster.mutations() == [("scale", "frontend", "4")]

        await wait_for(scaled)
        done = (await admin.get(f"/api/v1/approvals/{approval['id']}")).json()
    assert done["status"] == "approved"
    assert [d["decided_by_name"] for d in done["items"][0]["decisions"]] == ["approver", "second"]
