"""Fidelity: the deployment controller under `kubectl rollout` status/history/restart/undo."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.sandbox import (
    SandboxInfo,
    deployment_manifest,
    eventually,
    get_json,
    kubectl,
)

pytestmark = pytest.mark.sandbox


def _deploy(sandbox: SandboxInfo, namespace: str, name: str, image: str) -> None:
    result = kubectl(sandbox, "apply", "-f", "-", stdin=deployment_manifest(name, namespace, image))
    assert result.returncode == 0, result.stderr


def _revisions(sandbox: SandboxInfo, namespace: str, app: str) -> dict[int, str]:
    replicasets = get_json(sandbox, "replicasets", "-n", namespace, "-l", f"app={app}")["items"]
    return {
        int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]): rs["spec"][
            "template"
        ]["spec"]["containers"][0]["image"]
        for rs in replicasets
    }


def test_rollout_status_finishes_for_a_good_image(sandbox: SandboxInfo, namespace: str) -> None:
    _deploy(sandbox, namespace, "good", "nginx:1.27")
    assert (
        kubectl(
            sandbox, "set", "image", "deploy/good", "good=nginx:1.28", "-n", namespace
        ).returncode
        == 0
    )
    status = kubectl(sandbox, "rollout", "status", "deploy/good", "-n", namespace, "--timeout=20s")
    assert status.returncode == 0, status.stderr
    assert 'deployment "good" successfully rolled out' in status.stdout
    assert _revisions(sandbox, namespace, "good") == {1: "nginx:1.27", 2: "nginx:1.28"}


def test_rollout_status_times_out_for_a_bad_image(sandbox: SandboxInfo, namespace: str) -> None:
    _deploy(sandbox, namespace, "bad", "nginx:1.27")
    assert (
        kubectl(
            sandbox, "set", "image", "deploy/bad", "bad=nginx:9.9-doesnotexist", "-n", namespace
        ).returncode
        == 0
    )
    status = kubectl(sandbox, "rollout", "status", "deploy/bad", "-n", namespace, "--timeout=2s")
    assert status.returncode != 0
    assert "1 out of 2 new replicas have been updated" in status.stdout

    def backing_off() -> bool:
        reasons = {
            p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get("reason")
            for p in get_json(sandbox, "pods", "-n", namespace)["items"]
        }
        return "ImagePullBackOff" in reasons

    eventually(backing_off, timeout=5, what="ImagePullBackOff after ErrImagePull")
    deploy = get_json(sandbox, "deployment", "bad", "-n", namespace)
    assert deploy["status"]["availableReplicas"] == 2
    assert deploy["status"]["updatedReplicas"] == 1


def test_rollout_history_lists_revisions_with_change_cause(
    sandbox: SandboxInfo, namespace: str
) -> None:
    _deploy(sandbox, namespace, "hist", "nginx:1.27")
    kubectl(
        sandbox,
        "annotate",
        "deploy/hist",
        "-n",
        namespace,
        "kubernetes.io/change-cause=bump to 1.28",
    )
    kubectl(sandbox, "set", "image", "deploy/hist", "hist=nginx:1.28", "-n", namespace)
    history = kubectl(sandbox, "rollout", "history", "deploy/hist", "-n", namespace)
    assert history.returncode == 0, history.stderr
    rows = [line.split(None, 1) for line in history.stdout.splitlines()[2:] if line.strip()]
    assert rows == [["1", "<none>"], ["2", "bump to 1.28"]]
    one = kubectl(sandbox, "rollout", "history", "deploy/hist", "-n", namespace, "--revision=1")
    assert "nginx:1.27" in one.stdout


def test_rollout_undo_restores_the_previous_template(sandbox: SandboxInfo, namespace: str) -> None:
    _deploy(sandbox, namespace, "undo", "nginx:1.27")
    kubectl(sandbox, "set", "image", "deploy/undo", "undo=nginx:bad", "-n", namespace)
    undone = kubectl(sandbox, "rollout", "undo", "deploy/undo", "-n", namespace)
    assert undone.returncode == 0, undone.stderr
    deploy = get_json(sandbox, "deployment", "undo", "-n", namespace)
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert _revisions(sandbox, namespace, "undo") == {2: "nginx:bad", 3: "nginx:1.27"}
    status = kubectl(sandbox, "rollout", "status", "deploy/undo", "-n", namespace, "--timeout=10s")
    assert status.returncode == 0


def test_rollout_restart_replaces_every_pod(sandbox: SandboxInfo, namespace: str) -> None:
    _deploy(sandbox, namespace, "rs", "nginx:1.27")
    before = {p["metadata"]["name"] for p in get_json(sandbox, "pods", "-n", namespace)["items"]}
    assert kubectl(sandbox, "rollout", "restart", "deploy/rs", "-n", namespace).returncode == 0
    after = {p["metadata"]["name"] for p in get_json(sandbox, "pods", "-n", namespace)["items"]}
    assert len(after) == 2
    assert before.isdisjoint(after)
    template = get_json(sandbox, "deployment", "rs", "-n", namespace)["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]


def test_rollout_pause_blocks_new_replicasets_until_resume(
    sandbox: SandboxInfo, namespace: str
) -> None:
    _deploy(sandbox, namespace, "pz", "nginx:1.27")
    assert kubectl(sandbox, "rollout", "pause", "deploy/pz", "-n", namespace).returncode == 0
    kubectl(sandbox, "set", "image", "deploy/pz", "pz=nginx:1.28", "-n", namespace)
    assert set(_revisions(sandbox, namespace, "pz")) == {1}
    assert kubectl(sandbox, "rollout", "resume", "deploy/pz", "-n", namespace).returncode == 0
    assert _revisions(sandbox, namespace, "pz") == {1: "nginx:1.27", 2: "nginx:1.28"}


def test_demo_worker_is_stuck_on_a_bad_tag(sandbox: SandboxInfo) -> None:
    status = kubectl(sandbox, "rollout", "status", "deploy/worker", "-n", "shop", "--timeout=5s")
    assert status.returncode != 0
    # Seeded two hours ago: far past its progressDeadlineSeconds, as a real cluster reports.
    assert 'deployment "worker" exceeded its progress deadline' in status.stderr
    conditions = get_json(sandbox, "deployment", "worker", "-n", "shop")["status"]["conditions"]
    progressing = next(c for c in conditions if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    images = _revisions(sandbox, "shop", "worker")
    assert images[2].endswith("-bad")


def test_rollout_status_of_statefulset_and_daemonset(sandbox: SandboxInfo, namespace: str) -> None:
    template = {
        "metadata": {"labels": {"app": "st"}},
        "spec": {"containers": [{"name": "st", "image": "redis:7"}]},
    }
    for kind, extra in (("StatefulSet", {"replicas": 2, "serviceName": "st"}), ("DaemonSet", {})):
        body = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": kind.lower(), "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": "st"}}, "template": template, **extra},
        }
        assert kubectl(sandbox, "apply", "-f", "-", stdin=json.dumps(body)).returncode == 0
        status = kubectl(
            sandbox,
            "rollout",
            "status",
            f"{kind.lower()}/{kind.lower()}",
            "-n",
            namespace,
            "--timeout=10s",
        )
        assert status.returncode == 0, status.stderr
        assert "roll" in status.stdout
