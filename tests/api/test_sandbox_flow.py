"""The API with the real tools: kubectl against the emulated cluster, end to end over HTTP.

The registry's tools and the real subprocess runner; mutations happen in a namespace of the
test's own (the demo namespace `shop` is only read).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.api import running_app, wait_for
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

pytestmark = [pytest.mark.sandbox]


async def test_scale_over_http_reads_pauses_runs_once_and_verifies(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    applied = kubectl(
        sandbox, "apply", "-f", "-", stdin=deployment_manifest("web", namespace, "nginx:1.27", 2)
    )
    assert applied.returncode == 0, applied.stderr
    script = f"""
scripts:
  - match: "scale"
    turns:
      - tool_calls: [{{name: k8s_get, args: {{resource: deployment/web, namespace: {namespace}}}}}]
      - text: "Scaling web to 3."
        tool_calls:
          - name: k8s_scale
            args: {{resource: deployment/web, replicas: 3, namespace: {namespace}}}
      - text: "web now runs 3 replicas."
"""
    runner = SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    async with (
        running_app(
            tmp_path / "data",
            script_text=script,
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
    ):
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        cid = conversation["id"]
        run_id = (
            await operator.post(
                f"/api/v1/conversations/{cid}/messages", json={"text": "scale web to 3"}
            )
        ).json()["run_id"]

        async def pending() -> list[dict[str, Any]]:
            response = await approver.get(
                "/api/v1/approvals", params={"status": "pending", "conversation_id": cid}
            )
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        approval = (await wait_for(pending, 60))[0]
        item = approval["items"][0]
        assert item["tool"] == "k8s_scale"
        assert item["context"] == sandbox.context
        assert item["namespace"] == namespace
        assert item["preview"]

        def replicas() -> int:
            spec = get_json(sandbox, "deployment/web", "-n", namespace)
            return int(spec["spec"]["replicas"])

        assert replicas() == 2
        decided = await approver.post(
            f"/api/v1/approvals/{approval['id']}/decision",
            json={"call_id": item["call_id"], "approve": True},
        )
        assert decided.status_code == 200

        async def finished() -> dict[str, Any] | None:
            run: dict[str, Any] = (await operator.get(f"/api/v1/runs/{run_id}")).json()
            return run if run["run"]["status"] in FINAL_RUN_STATUSES else None

        run = await wait_for(finished, 90)
        audit = (
            await operator.get("/api/v1/audit", params={"conversation_id": cid, "limit": 500})
        ).json()["items"]

    assert run["run"]["status"] == "completed"
    assert [c["tool"] for c in run["calls"]] == ["k8s_get", "k8s_scale"]
    assert [c["status"] for c in run["calls"]] == ["succeeded", "verified"]
    assert replicas() == 3
    verify = [e for e in audit if e["kind"] == "verify"]
    assert [e["payload"]["verdict"] for e in verify] == ["verified"]
    started = [e["payload"]["tool"] for e in audit if e["kind"] == "tool.started"]
    assert started == ["k8s_get", "k8s_scale"]
