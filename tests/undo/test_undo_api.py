"""The undo over HTTP with the real kubectl on the sandbox: a change that ran offers its undo
(`GET /api/v1/calls/{id}/undo`), an operator submits it (`POST`, a viewer may not), it waits
for an approver in the same conversation with its own dry run, and once approved the object
is back; a change that cannot be undone answers 409 with the reason."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.api import running_app, wait_for
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

pytestmark = [pytest.mark.sandbox]


async def _approved(
    operator: httpx.AsyncClient, approver: httpx.AsyncClient, cid: str, run_id: str
) -> dict[str, Any]:
    """Approve the one call `run_id` waits for; the run once it ended."""

    async def pending() -> list[dict[str, Any]]:
        response = await approver.get(
            "/api/v1/approvals", params={"status": "pending", "conversation_id": cid}
        )
        return [a for a in response.json()["items"] if a["run_id"] == run_id]

    [approval] = await wait_for(pending, 60)
    [item] = approval["items"]
    decided = await approver.post(
        f"/api/v1/approvals/{approval['id']}/decision",
        json={"call_id": item["call_id"], "approve": True},
    )
    assert decided.status_code == 200, decided.text

    async def finished() -> dict[str, Any] | None:
        run: dict[str, Any] = (await operator.get(f"/api/v1/runs/{run_id}")).json()
        return run if run["run"]["status"] in FINAL_RUN_STATUSES else None

    run = await wait_for(finished, 90)
    run["approved_item"] = item
    return run


async def test_undo_over_http_is_offered_gated_and_restores_the_object(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    applied = kubectl(
        sandbox, "apply", "-f", "-", stdin=deployment_manifest("web", namespace, "nginx:1.27", 2)
    )
    assert applied.returncode == 0, applied.stderr
    made = kubectl(
        sandbox, "create", "secret", "generic", "db", "-n", namespace, "--from-literal=k=v"
    )
    assert made.returncode == 0, made.stderr
    runner = SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    async with (
        running_app(
            tmp_path / "data",
            runner=runner,
            kubeconfig=sandbox.kubeconfig,
            contexts=[sandbox.context],
            default_context=sandbox.context,
            kubectl_path=sandbox.kubectl,
            helm_path=sandbox.helm,
            command_timeout_s=30.0,
        ) as env,
        env.client("operator") as operator,
        env.client("approver") as approver,
        env.client("viewer") as viewer,
    ):
        cid = (await operator.post("/api/v1/conversations", json={})).json()["id"]
        scale = {"resource": "deployment/web", "replicas": 3, "namespace": namespace}
        started = await operator.post(
            f"/api/v1/conversations/{cid}/calls", json={"tool": "k8s_scale", "args": scale}
        )
        assert started.status_code == 202, started.text
        scaled = await _approved(operator, approver, cid, started.json()["run_id"])
        [call] = scaled["calls"]
        assert call["status"] == "verified"
        assert get_json(sandbox, "deployment/web", "-n", namespace)["spec"]["replicas"] == 3

        offer = (await viewer.get(f"/api/v1/calls/{call['id']}/undo")).json()
        assert offer["undo"]["tool"] == "k8s_patch"
        assert offer["reason"] is None
        assert len(offer["snapshot_sha256"]) == 64
        refused = await viewer.post(f"/api/v1/calls/{call['id']}/undo")
        assert refused.status_code == 403

        undo = await operator.post(f"/api/v1/calls/{call['id']}/undo")
        assert undo.status_code == 202, undo.text
        assert undo.json()["undo"] == offer["undo"]
        undone = await _approved(operator, approver, cid, undo.json()["run_id"])
        assert undone["run"]["conversation_id"] == cid
        assert undone["approved_item"]["tool"] == "k8s_patch"
        assert "-  replicas: 3" in undone["approved_item"]["preview"]
        assert "+  replicas: 2" in undone["approved_item"]["preview"]
        assert [c["status"] for c in undone["calls"]] == ["verified"]
        assert get_json(sandbox, "deployment/web", "-n", namespace)["spec"]["replicas"] == 2

        label = {
            "resource": "secret",
            "name": "db",
            "namespace": namespace,
            "labels": {"tier": "db"},
        }
        started = await operator.post(
            f"/api/v1/conversations/{cid}/calls", json={"tool": "k8s_label", "args": label}
        )
        labelled = await _approved(operator, approver, cid, started.json()["run_id"])
        [secret_call] = labelled["calls"]
        refused = await operator.post(f"/api/v1/calls/{secret_call['id']}/undo")
        assert refused.status_code == 409
        assert "never stores its values" in refused.text

        audit = (
            await operator.get("/api/v1/audit", params={"conversation_id": cid, "limit": 500})
        ).json()["items"]
        requests = [e["payload"]["text"] for e in audit if e["kind"] == "request"]
        assert any(f"undo of call {call['id']}" in text for text in requests)
        missing = await operator.get("/api/v1/calls/no-such-call/undo")
        assert missing.status_code == 404
