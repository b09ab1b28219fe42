"""The engine with the real tools: real kubectl against the emulated cluster, over MCP.

Scripted model, real `SqlStore`, real SQLite checkpointer, real MCP server and client, the
registry's kubectl tools and the subprocess runner. Mutations happen in a namespace of the
test's own; the demo namespace `shop` is only read.
"""

from __future__ import annotations

import pytest

from opsgate.tools import registry
from tests.fixtures.calls import stored_call
from tests.fixtures.engine import HarnessFactory
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

pytestmark = [pytest.mark.sandbox]


async def test_investigation_of_the_shop_runs_real_reads_without_pausing(
    sandbox_harnesses: HarnessFactory,
) -> None:
    h = await sandbox_harnesses.open(
        """
scripts:
  - match: "why"
    turns:
      - text: "Looking at the shop."
        tool_calls:
          - {name: k8s_get, args: {resource: deployments, namespace: shop}}
          - {name: k8s_get, args: {resource: pods, namespace: shop, output: wide}}
      - text: "api is crash looping."
"""
    )
    run = await h.engine.submit_message(h.conversation.id, h.operator, "why is the api down?")
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "completed"
    calls = await h.store.list_calls(run_id=run.id)
    assert [c.status for c in calls] == ["succeeded", "succeeded"]
    assert "frontend" in (calls[0].output or "")
    assert "api" in (calls[1].output or "")
    assert await h.store.list_approvals(conversation_id=h.conversation.id) == []


async def test_scale_pauses_runs_once_approved_and_is_verified_on_the_cluster(
    sandbox_harnesses: HarnessFactory, sandbox: SandboxInfo, namespace: str
) -> None:
    applied = kubectl(
        sandbox, "apply", "-f", "-", stdin=deployment_manifest("web", namespace, "nginx:1.27", 2)
    )
    assert applied.returncode == 0, applied.stderr
    h = await sandbox_harnesses.open(
        f"""
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
    )
    run = await h.engine.submit_message(h.conversation.id, h.operator, "scale web to 3")
    await h.engine.wait_run(run.id)
    assert (await h.store.get_run(run.id)).status == "awaiting_approval"

    def replicas() -> int:
        spec = get_json(sandbox, "deployment/web", "-n", namespace)
        return int(spec["spec"]["replicas"])

    assert replicas() == 2
    approval_id = await h.pending_approval_id(run.id)
    [item] = (await h.store.get_approval(approval_id)).items
    assert item.args["context"] == sandbox.context
    assert item.preview

    await h.engine.decide(approval_id, item.call_id, h.approver, approve=True, reason=None)
    await h.engine.wait_run(run.id)

    assert replicas() == 3
    call = await stored_call(h.store, item.call_id)
    assert call.status == "verified"
    assert (await h.store.get_run(run.id)).status == "completed"
    verify = [e.data for e in await h.events(run.id) if e.type == "verify"]
    assert [v["verdict"] for v in verify] == ["verified"]
    # What the check proves comes from the tool server with its verdict.
    assert verify[0]["proves"] == registry.all_tools()["k8s_scale"].verifies
    started = [a for a in await h.store.list_audit(limit=1000) if a.kind == "tool.started"]
    assert [a.payload["tool"] for a in started] == ["k8s_get", "k8s_scale"]
