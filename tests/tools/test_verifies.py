"""Verification that checks the intent, against the sandbox with the real kubectl and helm.

Each change is made with the fixture's own kubectl/helm (the change itself is not under test);
then the tool's verify runs through the MCP server (`opsgate_verify`), whose
`structured_content["data"]` is the `Verification`: a new pod that cannot start fails it at
once with the pod, its reason and its latest warnings, and offers the rollback as a new call.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path

import pytest

from opsgate.mcp.client import ToolCallResult, ToolClient
from opsgate.tools import registry
from opsgate.tools.base import RollbackCall, ToolEnv, Verification
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, helm, kubectl

PULL_FAILED = re.compile(r": (ErrImagePull|ImagePullBackOff): ")
"""How the kubelet says an image cannot be pulled (first ErrImagePull, then the back-off)."""

pytestmark = [pytest.mark.sandbox]

TOOLS = registry.all_tools()


def verification(result: ToolCallResult) -> Verification:
    return Verification.model_validate(result.data)


def change(sandbox: SandboxInfo, namespace: str, *args: str) -> None:
    done = kubectl(sandbox, *args, "-n", namespace)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def web(sandbox: SandboxInfo, namespace: str) -> str:
    """A Deployment `web` (containers `web` and `sidecar`) rolled out in the test's namespace."""
    manifest = deployment_manifest("web", namespace, "nginx:1.27", replicas=2)
    created = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
    assert created.returncode == 0, created.stderr
    return namespace


async def test_a_patch_adding_an_env_var_from_a_missing_secret_fails_and_offers_undo(
    served: ToolClient, sandbox: SandboxInfo, web: str
) -> None:
    env = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "api-db", "key": "pw"}}}]
    patch = json.dumps(
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": env}]}}}}
    )
    change(sandbox, web, "patch", "deployment/web", "--type=strategic", "-p", patch)
    args = {"resource": "deployment/web", "namespace": web, "patch": patch}
    result = await served.verify("k8s_patch", args)
    assert not result.ok
    found = verification(result)
    assert found.verdict == "failed"
    assert found.summary.startswith("pod web-")
    assert found.summary.endswith(': CreateContainerConfigError: secret "api-db" not found')
    assert any("Warning" in line for line in found.details)
    assert found.rollback == RollbackCall(
        tool="k8s_rollout_undo", args={"resource": "deployment/web", "namespace": web}
    )


async def test_a_bad_image_fails_at_once_because_it_cannot_be_pulled(
    served: ToolClient, sandbox: SandboxInfo, web: str
) -> None:
    change(sandbox, web, "set", "image", "deployment/web", "web=nginx:bad-tag")
    started = time.monotonic()
    result = await served.verify(
        "k8s_set_image",
        {"resource": "deployment/web", "namespace": web, "images": {"web": "nginx:bad-tag"}},
    )
    found = verification(result)
    assert found.verdict == "failed"
    assert PULL_FAILED.search(found.summary), found.summary
    assert "nginx:bad-tag" in found.summary
    assert time.monotonic() - started < 20  # far below the 90 s it may wait for a rollout
    assert found.rollback is not None
    assert found.rollback.tool == "k8s_rollout_undo"
    assert "rollback (needs approval): k8s_rollout_undo" in result.text


async def test_a_crash_loop_after_a_restart_fails_the_rollout(
    served: ToolClient, sandbox: SandboxInfo, web: str
) -> None:
    crash = {"spec": {"template": {"metadata": {"annotations": {
        "sandbox.opsgate.dev/behavior": "CrashLoopBackOff"
    }}}}}  # fmt: skip
    change(sandbox, web, "patch", "deployment/web", "--type=merge", "-p", json.dumps(crash))
    result = await served.verify(
        "k8s_patch",
        {
            "resource": "deployment/web",
            "namespace": web,
            "patch": json.dumps(crash),
            "patch_type": "merge",
        },
    )
    found = verification(result)
    assert found.verdict == "failed"
    assert ": CrashLoopBackOff" in found.summary


async def test_a_good_change_verifies_once_every_new_replica_is_ready(
    served: ToolClient, sandbox: SandboxInfo, web: str
) -> None:
    change(sandbox, web, "set", "image", "deployment/web", "web=nginx:1.28")
    result = await served.verify(
        "k8s_set_image",
        {"resource": "deployment/web", "namespace": web, "images": {"web": "nginx:1.28"}},
    )
    assert result.ok, result.text
    assert verification(result) == Verification(
        verdict="verified",
        summary="deployment/web: 2 of 2 replicas updated, available and ready",
        proves=TOOLS["k8s_set_image"].verifies,
    )


async def test_a_label_is_read_back_but_never_verified(
    served: ToolClient, sandbox: SandboxInfo, web: str
) -> None:
    change(sandbox, web, "label", "deployment/web", "tier=front")
    args = {"resource": "deployment/web", "namespace": web, "labels": {"tier": "front"}}
    result = await served.verify("k8s_label", args)
    assert not result.ok
    assert verification(result) == Verification(
        verdict="not_verified",
        summary="object updated: labels read back as set; rollout not checked",
        proves=TOOLS["k8s_label"].verifies,
    )
    unset = await served.verify("k8s_label", {**args, "labels": {"tier": "back"}})
    assert verification(unset).verdict == "failed"


async def test_a_rollout_that_cannot_finish_fails_at_its_bound_saying_why_and_reports_progress(
    cluster_env: ToolEnv, sandbox: SandboxInfo, web: str
) -> None:
    nowhere = {"spec": {"template": {"spec": {"nodeName": "no-such-node"}}}}
    change(sandbox, web, "patch", "deployment/web", "--type=merge", "-p", json.dumps(nowhere))
    heard: list[str] = []

    async def report(text: str) -> None:
        heard.append(text)

    env = dataclasses.replace(cluster_env, verify_timeout_s=2.0, report=report)
    tool = TOOLS["k8s_rollout_restart"]
    assert tool.verify is not None
    output = await tool.verify(tool.parse({"resource": "deployment/web", "namespace": web}), env)
    found = output.data
    assert isinstance(found, Verification)
    assert found.verdict == "failed"
    assert found.summary.startswith("deployment/web did not finish rolling out in 2 s: ")
    assert any("Unschedulable" in line or "Pending" in line for line in found.details)
    assert found.rollback is None  # undoing a restart is no remedy
    assert heard
    assert heard[0].startswith("deployment/web: ")


async def test_a_helm_upgrade_whose_pods_cannot_start_fails_and_offers_the_rollback(
    served: ToolClient, sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    chart = tmp_path / "tiny"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: tiny\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: nginx:1.27\n")
    (chart / "templates" / "deployment.yaml").write_text(
        deployment_manifest("tiny", namespace, "{{ .Values.image }}", replicas=1)
    )
    installed = helm(sandbox, "install", "tiny", str(chart), "-n", namespace)
    assert installed.returncode == 0, installed.stderr
    args = {"release": "tiny", "chart": str(chart), "namespace": namespace}
    first = await served.verify("helm_install", args)
    assert verification(first).verdict == "verified", first.text
    upgraded = helm(
        sandbox, "upgrade", "tiny", str(chart), "-n", namespace, "--set", "image=nginx:bad"
    )
    assert upgraded.returncode == 0, upgraded.stderr
    result = await served.verify("helm_upgrade", {**args, "set": {"image": "nginx:bad"}})
    found = verification(result)
    assert found.verdict == "failed"
    assert PULL_FAILED.search(found.summary), found.summary
    assert "release 'tiny' revision 2 is deployed" in found.details
    assert found.rollback == RollbackCall(
        tool="helm_rollback", args={"release": "tiny", "namespace": namespace, "revision": 1}
    )
