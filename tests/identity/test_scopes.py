"""Scoped roles over HTTP, with the real tools against the sandbox: the kubeconfig names it
twice, as `staging` and `prod`, so runs in each are real kubectl runs. A viewer scoped to
staging sees nothing of prod; an approver scoped to one namespace of prod (`payments`, here
the test's own namespace, where a change can really run) cannot decide a change in `shop`,
and the approval card says why for each user."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from opsgate.api import accounts
from opsgate.domain.roles import Role
from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.api import ApiEnv, running_app, wait_for
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

pytestmark = [pytest.mark.sandbox]


def _two_contexts(sandbox: SandboxInfo, path: Path) -> Path:
    """The sandbox's kubeconfig with its one context named `staging` and `prod`."""
    config: dict[str, Any] = yaml.safe_load(sandbox.kubeconfig.read_text())
    [context] = config["contexts"]
    config["contexts"] = [
        {"name": name, "context": {**context["context"], "namespace": "default"}}
        for name in ("staging", "prod")
    ]
    config["current-context"] = "staging"
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass
class Site:
    env: ApiEnv
    tokens: dict[str, str]
    """Username -> an API token that user made (so it may decide)."""

    def client(self, username: str) -> httpx.AsyncClient:
        return self.env.client(headers={"Authorization": f"Bearer {self.tokens[username]}"})


async def _person(
    site: ApiEnv, username: str, role: Role, grants: list[tuple[Role, str, str | None]]
) -> str:
    store = site.state.store
    user = await store.create_user(username, role, None)
    for granted, context, namespace in grants:
        user = await accounts.grant_role(
            store, user, granted, context, namespace, actor=accounts.CLI, via="cli"
        )
    token, _ = await accounts.create_token(
        store, user, "t", None, actor=accounts.Actor.of(user), via="api"
    )
    return token


@pytest.fixture
async def site(sandbox: SandboxInfo, namespace: str, tmp_path: Path) -> AsyncIterator[Site]:
    runner = SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    async with running_app(
        tmp_path / "data",
        runner=runner,
        kubeconfig=_two_contexts(sandbox, tmp_path / "kubeconfig"),
        contexts=["staging", "prod"],
        default_context="staging",
        kubectl_path=sandbox.kubectl,
        helm_path=sandbox.helm,
        command_timeout_s=30.0,
    ) as env:
        tokens = {role: env.tokens[role] for role in ("operator", "approver")}
        tokens["sam"] = await _person(env, "sam", "none", [("viewer", "staging", None)])
        tokens["pat"] = await _person(env, "pat", "operator", [("approver", "prod", namespace)])
        yield Site(env, tokens)


async def _direct_run(
    client: httpx.AsyncClient, context: str, tool: str, args: dict[str, Any]
) -> tuple[str, str]:
    """A conversation in `context` and a direct call in it; (conversation id, run id)."""
    made = await client.post("/api/v1/conversations", json={"context": context})
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    started = await client.post(
        f"/api/v1/conversations/{cid}/calls", json={"tool": tool, "args": args}
    )
    assert started.status_code == 202, started.text
    return cid, started.json()["run_id"]


async def _reaches(client: httpx.AsyncClient, run_id: str, wanted: str) -> None:
    """Wait until the run is `wanted`, or fail naming where it ended instead."""

    async def status() -> str | None:
        found: str = (await client.get(f"/api/v1/runs/{run_id}")).json()["run"]["status"]
        if found != wanted and found in FINAL_RUN_STATUSES:
            raise AssertionError(f"run {run_id} ended {found!r}, not {wanted!r}")
        return found if found == wanted else None

    await wait_for(status, 60)


async def test_a_viewer_scoped_to_staging_sees_no_prod_runs(site: Site) -> None:
    read = {"resource": "deployments", "namespace": "shop"}
    async with site.client("operator") as operator, site.client("sam") as sam:
        prod_cid, prod_run = await _direct_run(operator, "prod", "k8s_get", read)
        staging_cid, staging_run = await _direct_run(operator, "staging", "k8s_get", read)
        for run_id in (prod_run, staging_run):
            await _reaches(operator, run_id, "completed")

        listed = (await sam.get("/api/v1/conversations")).json()
        assert [c["id"] for c in listed["items"]] == [staging_cid]
        assert listed["total"] == 1
        assert (await sam.get(f"/api/v1/conversations/{staging_cid}")).status_code == 200
        assert (await sam.get(f"/api/v1/runs/{staging_run}")).status_code == 200
        for path in (
            f"/api/v1/conversations/{prod_cid}",
            f"/api/v1/runs/{prod_run}",
            f"/api/v1/conversations/{prod_cid}/events",
            f"/api/v1/conversations/{prod_cid}/replay",
        ):
            assert (await sam.get(path)).status_code == 404, path
        [prod_call] = (await operator.get(f"/api/v1/runs/{prod_run}")).json()["calls"]
        undo = await sam.get(f"/api/v1/calls/{prod_call['id']}/undo")
        assert undo.status_code == 404, undo.text
        assert (await operator.get(f"/api/v1/calls/{prod_call['id']}/undo")).status_code == 200
        audit = (await sam.get("/api/v1/audit", params={"limit": 1000})).json()["items"]
        assert {e["conversation_id"] for e in audit} == {staging_cid}
        whole = await sam.get("/api/v1/audit/export")
        assert whole.status_code == 403
        assert "global viewer" in whole.json()["error"]["message"]
        # sam may only look: asking in staging is refused too.
        refused = await sam.post(
            f"/api/v1/conversations/{staging_cid}/calls", json={"tool": "k8s_get", "args": read}
        )
        assert refused.status_code == 403

        # The operator (global) still sees both.
        everything = (await operator.get("/api/v1/conversations")).json()
        assert {c["id"] for c in everything["items"]} == {prod_cid, staging_cid}


async def test_an_approver_scoped_to_payments_cannot_approve_a_change_in_shop(
    site: Site, sandbox: SandboxInfo, namespace: str
) -> None:
    applied = kubectl(
        sandbox, "apply", "-f", "-", stdin=deployment_manifest("web", namespace, "nginx:1.27", 1)
    )
    assert applied.returncode == 0, applied.stderr

    def frontend() -> int:
        return int(get_json(sandbox, "deployment/frontend", "-n", "shop")["spec"]["replicas"])

    before = frontend()
    shop = {"resource": "deployment/frontend", "replicas": before + 3, "namespace": "shop"}
    ours = {"resource": "deployment/web", "replicas": 2, "namespace": namespace}
    async with (
        site.client("operator") as operator,
        site.client("pat") as pat,
        site.client("approver") as approver,
    ):
        _, shop_run = await _direct_run(operator, "prod", "k8s_scale", shop)
        _, our_run = await _direct_run(operator, "prod", "k8s_scale", ours)
        for run_id in (shop_run, our_run):
            await _reaches(operator, run_id, "awaiting_approval")

        async def approval_of(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
            found = (await client.get("/api/v1/approvals", params={"status": "pending"})).json()
            [approval] = [a for a in found["items"] if a["run_id"] == run_id]
            return approval

        in_shop = await approval_of(pat, shop_run)
        [item] = in_shop["items"]
        assert (item["may_decide"], item["decide_why"]) == (False, "you are operator in prod/shop")
        answer = await pat.post(
            f"/api/v1/approvals/{in_shop['id']}/decision",
            json={"call_id": item["call_id"], "approve": True},
        )
        assert answer.status_code == 403
        assert "may not decide on a change in prod/shop" in answer.json()["error"]["message"]
        assert frontend() == before

        # The global approver sees why they may decide, and takes the shop change off the table.
        [global_item] = (await approval_of(approver, shop_run))["items"]
        assert global_item["decide_why"] == "approver everywhere"
        rejected = await approver.post(
            f"/api/v1/approvals/{in_shop['id']}/decision",
            json={"call_id": item["call_id"], "approve": False, "reason": "not in this test"},
        )
        assert rejected.status_code == 200, rejected.text

        in_ours = await approval_of(pat, our_run)
        [ours_item] = in_ours["items"]
        assert ours_item["may_decide"] is True
        assert ours_item["decide_why"] == f"approver for prod/{namespace}"
        approved = await pat.post(
            f"/api/v1/approvals/{in_ours['id']}/decision",
            json={"call_id": ours_item["call_id"], "approve": True},
        )
        assert approved.status_code == 200, approved.text
        await _reaches(operator, our_run, "completed")
    assert int(get_json(sandbox, "deployment/web", "-n", namespace)["spec"]["replicas"]) == 2
