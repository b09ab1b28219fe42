"""Done when: Alertmanager's payload for the sandbox's crashing `api` opens one read-only
investigation, and the diagnostics run in its place when no model is configured.

The real app with the registry's tools and kubectl against the emulated cluster; the demo
namespace `shop` is only read (a proposed change must stay waiting for approval).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.engine.models.scripted import ScriptedModel
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.alerts import (
    ALERTMANAGER_PATH,
    ALERTS,
    BEARER,
    add_service_user,
    alertmanager_payload,
)
from tests.fixtures.api import ApiEnv, running_app, wait_for
from tests.fixtures.sandbox import SandboxInfo, get_json

pytestmark = [pytest.mark.sandbox]

SCRIPT = """
scripts:
  - match: "KubePodCrashLooping"
    turns:
      - text: "Reading the deployment and diagnosing shop."
        tool_calls:
          - {name: k8s_get, args: {resource: deployment/api, namespace: shop}}
          - {name: k8s_diagnose, args: {namespace: shop}}
      - text: "api crash loops: its logs name the missing DATABASE_URL."
  - match: "ApiReplicasLow"
    turns:
      - text: "Scaling api up."
        tool_calls:
          - {name: k8s_scale, args: {resource: deployment/api, namespace: shop, replicas: 5}}
      - text: "Waiting for a person to approve."
"""


@contextlib.asynccontextmanager
async def _app(sandbox: SandboxInfo, data: Path, **overrides: Any) -> AsyncIterator[ApiEnv]:
    runner = SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    async with running_app(
        data,
        script_text=SCRIPT,
        runner=runner,
        kubeconfig=sandbox.kubeconfig,
        contexts=[sandbox.context],
        default_context=sandbox.context,
        kubectl_path=sandbox.kubectl,
        helm_path=sandbox.helm,
        command_timeout_s=30.0,
        **{"alerts": ALERTS, **overrides},
    ) as env:
        await add_service_user(env.state)
        yield env


async def _finished(env: ApiEnv, run_id: str) -> None:
    async def done() -> bool:
        return (await env.state.store.get_run(run_id)).status in FINAL_RUN_STATUSES

    await wait_for(done, 90)


def _api_replicas(sandbox: SandboxInfo) -> int:
    return int(get_json(sandbox, "deployment/api", "-n", "shop")["spec"]["replicas"])


async def test_the_crashing_api_alert_opens_one_investigation_that_only_reads(
    sandbox: SandboxInfo, tmp_path: Path
) -> None:
    async with _app(sandbox, tmp_path / "data") as env, env.client() as sender:
        first = await sender.post(ALERTMANAGER_PATH, json=alertmanager_payload(), headers=BEARER)
        duplicate = await sender.post(
            ALERTMANAGER_PATH, json=alertmanager_payload(), headers=BEARER
        )
        assert first.status_code == 202, first.text
        assert duplicate.json()["outcome"] == "deduplicated"
        conversation_id, run_id = first.json()["conversation_id"], first.json()["run_id"]
        await _finished(env, run_id)
        store = env.state.store
        runs = await store.list_runs(conversation_id)
        calls = await store.list_calls(conversation_id=conversation_id)
        audit = await store.list_audit(limit=500)
        model = env.state.engine.deps.model  # type: ignore[attr-defined]
        tools = env.state.tools

    assert [r.id for r in runs] == [run_id]
    assert runs[0].status == "completed"
    assert sorted((c.tool, c.classification, c.status) for c in calls) == [
        ("k8s_diagnose", "read", "succeeded"),
        ("k8s_get", "read", "succeeded"),
    ]
    assert [e.kind for e in audit if e.kind == "alert.investigation_opened"] == [
        "alert.investigation_opened"
    ]
    started = [e.payload["tool"] for e in audit if e.kind == "tool.started"]
    assert sorted(started) == ["k8s_diagnose", "k8s_get"]
    assert not [e for e in audit if e.kind.startswith("approval.")]
    assert isinstance(model, ScriptedModel)
    offered = set(model.offered[0])
    assert {"k8s_get", "k8s_logs", "k8s_diagnose"} <= offered
    assert {"k8s_scale", "k8s_delete", "k8s_apply", "helm_upgrade"}.isdisjoint(offered)
    assert all(tools[name].annotations.read_only for name in offered)
    assert "only read-only tools are offered" in model.received[0][0].content


async def test_a_change_the_investigation_proposes_waits_for_approval(
    sandbox: SandboxInfo, tmp_path: Path
) -> None:
    before = _api_replicas(sandbox)
    async with _app(sandbox, tmp_path / "data") as env, env.client() as sender:
        opened = await sender.post(
            ALERTMANAGER_PATH,
            json=alertmanager_payload(
                "ApiReplicasLow", annotations={"summary": "api runs fewer replicas than wanted"}
            ),
            headers=BEARER,
        )
        assert opened.status_code == 202, opened.text
        run_id = opened.json()["run_id"]
        store = env.state.store

        async def paused_or_ended() -> str | None:
            run = await store.get_run(run_id)
            waiting = run.status == "awaiting_approval" or run.status in FINAL_RUN_STATUSES
            return f"{run.status}: {run.reason}" if waiting else None

        assert (await wait_for(paused_or_ended, 60)).startswith("awaiting_approval")
        calls = await store.list_calls(run_id=run_id)
        approvals = await store.list_approvals(conversation_id=opened.json()["conversation_id"])
        audit = await store.list_audit(limit=500)

    assert [(c.tool, c.classification, c.status) for c in calls] == [
        ("k8s_scale", "mutation", "awaiting_approval")
    ]
    assert [a.status for a in approvals] == ["pending"]
    assert not [e for e in audit if e.kind == "tool.started"]
    assert _api_replicas(sandbox) == before


@pytest.mark.parametrize(
    "overrides",
    [{"model": None}, {"alerts": {**ALERTS, "investigate_with": "diagnostics"}}],
    ids=["no model", "diagnostics chosen"],
)
async def test_without_a_model_the_diagnostics_investigate(
    sandbox: SandboxInfo, tmp_path: Path, overrides: dict[str, Any]
) -> None:
    async with _app(sandbox, tmp_path / "data", **overrides) as env, env.client() as sender:
        opened = await sender.post(ALERTMANAGER_PATH, json=alertmanager_payload(), headers=BEARER)
        assert opened.status_code == 202, opened.text
        assert opened.json()["investigated_with"] == "diagnostics"
        conversation_id, run_id = opened.json()["conversation_id"], opened.json()["run_id"]
        await _finished(env, run_id)
        store = env.state.store
        run = await store.get_run(run_id)
        calls = await store.list_calls(run_id=run_id)
        messages = await store.list_messages(conversation_id)

    assert run.status == "completed"
    assert [(c.tool, c.args, c.status) for c in calls] == [
        ("k8s_diagnose", {"namespace": "shop", "context": sandbox.context}, "succeeded")
    ]
    findings = next(m.text for m in messages if m.role == "tool")
    assert "crashloop" in findings
    assert "DATABASE_URL" in findings
    answer = [m.text for m in messages if m.role == "assistant"]
    assert len(answer) == 1
    assert answer[0].startswith("k8s_diagnose: ")
    assert "api" in answer[0]
