"""The Command Center's files are served with the right types and caching; the optional
distinct-approver policy adds to the gate; metrics count what ran."""

from __future__ import annotations

import re
from pathlib import Path

from opsgate.api.ui import STATIC_DIR
from tests.fixtures.api import ApiEnv, running_app, wait_for


async def test_index_and_assets_are_served_with_types_and_revalidation(api_env: ApiEnv) -> None:
    async with api_env.client() as anonymous:
        for page in ("/", "/login", "/setup"):
            index = await anonymous.get(page)
            assert index.status_code == 200
            assert index.headers["content-type"].startswith("text/html")
            assert index.headers["cache-control"] == "no-cache"
            assert "content-security-policy" in index.headers
        scripts = sorted((STATIC_DIR / "assets").glob("*.js"))
        assert scripts
        script = await anonymous.get(f"/assets/{scripts[0].name}")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.content == scripts[0].read_bytes()
        assert "etag" in script.headers
        escape = await anonymous.get("/assets/..%2F..%2Fapp.py")
        assert escape.status_code == 404
        assert (await anonymous.get("/assets/missing.js")).status_code == 404


async def test_index_html_has_no_inline_script(api_env: ApiEnv) -> None:
    html = (STATIC_DIR / "index.html").read_text()
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags
    for tag in tags:
        assert "src=" in tag, tag
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


async def test_distinct_approver_policy_refuses_the_requester(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", require_distinct_approver=True) as env:
        admin = env.users["admin"]
        async with env.client("admin") as client:
            conversation = (await client.post("/api/v1/conversations", json={})).json()
            await client.post(
                f"/api/v1/conversations/{conversation['id']}/calls",
                json={"tool": "k_scale", "args": {"name": "frontend", "replicas": 4}},
            )

            async def pending() -> list[dict[str, object]]:
                response = await client.get("/api/v1/approvals", params={"status": "pending"})
                items: list[dict[str, object]] = response.json()["items"]
                return items

            approval = (await wait_for(pending))[0]
            assert approval["proposed_by"] == admin.id
            item = approval["items"][0]  # type: ignore[index]
            own = await client.post(
                f"/api/v1/approvals/{approval['id']}/decision",
                json={"call_id": item["call_id"], "approve": True},
            )
            assert own.status_code == 403
        assert env.cluster.mutations() == []
        async with env.client("approver") as approver:
            other = await approver.post(
                f"/api/v1/approvals/{approval['id']}/decide-all", json={"approve": True}
            )
            assert other.status_code == 200
            assert other.json()["approval"]["status"] == "approved"

        async def scaled() -> bool:
            return env.cluster.mutations() == [("scale", "frontend", "4")]

        await wait_for(scaled)


async def test_rejection_needs_a_reason_naming_the_field(api_env: ApiEnv) -> None:
    async with api_env.client("operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        await operator.post(
            f"/api/v1/conversations/{conversation['id']}/calls",
            json={"tool": "k_scale", "args": {"name": "api", "replicas": 2}},
        )
    async with api_env.client("approver") as approver:

        async def pending() -> list[dict[str, object]]:
            response = await approver.get("/api/v1/approvals", params={"status": "pending"})
            items: list[dict[str, object]] = response.json()["items"]
            return items

        approval = (await wait_for(pending))[0]
        item = approval["items"][0]  # type: ignore[index]
        url = f"/api/v1/approvals/{approval['id']}/decision"
        bare = await approver.post(url, json={"call_id": item["call_id"], "approve": False})
        assert bare.status_code == 422
        assert bare.json()["error"]["field"] == "reason"
        reasoned = await approver.post(
            url, json={"call_id": item["call_id"], "approve": False, "reason": "not today"}
        )
        assert reasoned.status_code == 200
        assert reasoned.json()["approval"]["items"][0]["decision"]["reason"] == "not today"
    assert api_env.cluster.mutations() == []


async def test_metrics_count_runs_and_tool_calls_by_outcome(api_env: ApiEnv) -> None:
    async with api_env.client("operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        run_id = (
            await operator.post(
                f"/api/v1/conversations/{conversation['id']}/calls",
                json={"tool": "k_get", "args": {"name": "frontend"}},
            )
        ).json()["run_id"]

        async def done() -> bool:
            run = (await operator.get(f"/api/v1/runs/{run_id}")).json()["run"]
            return run["status"] == "completed"

        await wait_for(done)
        text = (await operator.get("/metrics")).text
    assert 'opsgate_tool_calls_total{outcome="succeeded",tool="k_get"} 1.0' in text
    assert "opsgate_runs_started_total 1.0" in text
    assert 'opsgate_runs_finished_total{status="completed"} 1.0' in text
