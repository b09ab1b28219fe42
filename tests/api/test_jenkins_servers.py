"""One directory of Jenkins servers: added through the admin API or from settings, used by the
tools at call time, listed by the admin API with where each came from.

The real app with the registry's tools; Jenkins is the sandbox Jenkins on loopback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.settings import JenkinsServer
from tests.fixtures.api import ApiEnv, running_app, wait_for
from tests.fixtures.jenkins import JenkinsSandbox, NoCommands


async def list_jobs(env: ApiEnv, operator: httpx.AsyncClient, server: str) -> dict[str, Any]:
    """Run `jenkins_list_jobs` on `server` as a direct call; the finished call's record."""
    conversation = (await operator.post("/api/v1/conversations", json={})).json()
    run_id = (
        await operator.post(
            f"/api/v1/conversations/{conversation['id']}/calls",
            json={"tool": "jenkins_list_jobs", "args": {"server": server}},
        )
    ).json()["run_id"]

    async def finished() -> dict[str, Any] | None:
        run: dict[str, Any] = (await operator.get(f"/api/v1/runs/{run_id}")).json()
        return run if run["run"]["status"] in FINAL_RUN_STATUSES else None

    run = await wait_for(finished, 60)
    [call] = run["calls"]
    assert call["tool"] == "jenkins_list_jobs"
    return dict(call)


async def test_a_server_added_through_the_admin_api_is_used_by_the_tools_at_once(
    tmp_path: Path, jenkins_sandbox: JenkinsSandbox
) -> None:
    async with (
        running_app(tmp_path / "data", runner=NoCommands()) as env,
        env.client("admin") as admin,
        env.client("operator") as operator,
    ):
        before = await list_jobs(env, operator, "ci")
        assert before["status"] == "failed"
        assert "no Jenkins server named 'ci'; configured: none" in before["output"]

        added = await admin.put(
            "/api/v1/jenkins-servers/ci",
            json={
                "url": jenkins_sandbox.url,
                "user": jenkins_sandbox.user,
                "token": jenkins_sandbox.token,
            },
        )
        assert added.status_code == 200, added.text

        after = await list_jobs(env, operator, "ci")
    assert after["status"] == "succeeded", after["output"]
    assert "shop-build" in after["output"]
    assert jenkins_sandbox.token not in after["output"]
    assert added.json()["source"] == "database"


async def test_servers_from_settings_are_listed_beside_added_ones_and_read_only(
    tmp_path: Path, jenkins_sandbox: JenkinsSandbox
) -> None:
    from_settings = JenkinsServer(
        url="https://jenkins.example/", user="ops", token=SecretStr("settings-token-value")
    )
    async with (
        running_app(
            tmp_path / "data", runner=NoCommands(), jenkins={"configured": from_settings}
        ) as env,
        env.client("admin") as admin,
        env.client("operator") as operator,
    ):
        body = {"url": jenkins_sandbox.url, "user": "someone", "token": "replacement-token"}
        replaced = await admin.put("/api/v1/jenkins-servers/configured", json=body)
        removed = await admin.delete("/api/v1/jenkins-servers/configured")
        added = await admin.put(
            "/api/v1/jenkins-servers/ci",
            json={**body, "user": jenkins_sandbox.user, "token": jenkins_sandbox.token},
        )
        listed = (await admin.get("/api/v1/jenkins-servers")).json()
        one = (await admin.get("/api/v1/jenkins-servers/configured")).json()
        used = await list_jobs(env, operator, "configured")
    for refused in (replaced, removed):
        assert refused.status_code == 409
        assert (
            "comes from settings (OPSGATE_JENKINS__CONFIGURED__*)"
            in refused.json()["error"]["message"]
        )
    assert added.status_code == 200
    assert [(s["name"], s["source"], s["read_only"], s["in_use"]) for s in listed] == [
        ("ci", "database", False, True),
        ("configured", "settings", True, True),
    ]
    assert one["url"] == "https://jenkins.example/"
    assert "settings-token-value" not in str(listed) + str(one)
    # The settings server was not replaced: the tools still call its (unreachable) URL.
    assert used["status"] == "failed"
    assert "jenkins.example" in used["output"]


async def test_a_database_record_hidden_by_a_settings_server_is_listed_as_not_in_use(
    tmp_path: Path,
) -> None:
    from_settings = JenkinsServer(
        url="https://jenkins.example/", user="ops", token=SecretStr("settings-token-value")
    )
    async with (
        running_app(tmp_path / "data", runner=NoCommands(), jenkins={"ci": from_settings}) as env,
        env.client("admin") as admin,
    ):
        # Added before the settings gained a server of the same name.
        await env.state.store.upsert_jenkins_server("ci", "https://old.example/", "u", "t")
        listed = (await admin.get("/api/v1/jenkins-servers")).json()
        one = (await admin.get("/api/v1/jenkins-servers/ci")).json()
        removed = await admin.delete("/api/v1/jenkins-servers/ci")
        after = (await admin.get("/api/v1/jenkins-servers")).json()
    assert [(s["url"], s["source"], s["read_only"], s["in_use"]) for s in listed] == [
        ("https://jenkins.example/", "settings", True, True),
        ("https://old.example/", "database", False, False),
    ]
    assert one["url"] == "https://jenkins.example/"
    assert removed.status_code == 204
    assert [(s["url"], s["source"]) for s in after] == [("https://jenkins.example/", "settings")]
