"""Fidelity on a sandbox of its own: cordon, drain, `--state` persistence, up/down/status."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsgate.sandbox import server
from tests.fixtures.sandbox import (
    SandboxInfo,
    deployment_manifest,
    get_json,
    kubectl,
    start_sandbox,
    stop_sandbox,
)

pytestmark = pytest.mark.sandbox


def test_cordon_and_uncordon_toggle_scheduling(fresh_sandbox: SandboxInfo) -> None:
    assert kubectl(fresh_sandbox, "cordon", "sandbox-worker-1").returncode == 0
    assert get_json(fresh_sandbox, "node", "sandbox-worker-1")["spec"]["unschedulable"] is True
    table = kubectl(fresh_sandbox, "get", "nodes").stdout
    assert "Ready,SchedulingDisabled" in table
    assert kubectl(fresh_sandbox, "uncordon", "sandbox-worker-1").returncode == 0
    assert not get_json(fresh_sandbox, "node", "sandbox-worker-1")["spec"].get("unschedulable")


def test_drain_evicts_pods_to_other_nodes(fresh_sandbox: SandboxInfo) -> None:
    manifest = deployment_manifest("app", "default", "nginx:1.27", replicas=4)
    assert kubectl(fresh_sandbox, "apply", "-f", "-", stdin=manifest).returncode == 0
    on_node = get_json(
        fresh_sandbox, "pods", "-A", "--field-selector", "spec.nodeName=sandbox-worker-1"
    )["items"]
    assert on_node
    drained = kubectl(
        fresh_sandbox, "drain", "sandbox-worker-1", "--ignore-daemonsets", "--timeout=20s"
    )
    assert drained.returncode == 0, drained.stderr
    assert "evicted" in drained.stdout
    assert (
        get_json(fresh_sandbox, "pods", "-A", "--field-selector", "spec.nodeName=sandbox-worker-1")[
            "items"
        ]
        == []
    )
    pods = get_json(fresh_sandbox, "pods", "-n", "default")["items"]
    assert len(pods) == 4
    assert {p["spec"]["nodeName"] for p in pods} == {"sandbox-worker-2"}


def test_state_file_keeps_objects_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    first_dir.mkdir()
    second_dir.mkdir()
    proc, info = start_sandbox(
        first_dir, seed="empty", extra=["--no-jenkins", "--state", str(state)]
    )
    home = tmp_path / "home"
    home.mkdir()
    sandbox = SandboxInfo(
        first_dir / "kubeconfig",
        info["context"],
        info["api_url"],
        None,
        None,
        None,
        server_kubectl(),
        server_helm(),
        home,
    )
    try:
        assert kubectl(sandbox, "create", "configmap", "kept", "--from-literal=a=1").returncode == 0
    finally:
        stop_sandbox(proc)
    proc, info = start_sandbox(
        second_dir, seed="empty", extra=["--no-jenkins", "--state", str(state)]
    )
    sandbox = SandboxInfo(
        second_dir / "kubeconfig",
        info["context"],
        info["api_url"],
        None,
        None,
        None,
        server_kubectl(),
        server_helm(),
        home,
    )
    try:
        assert get_json(sandbox, "configmap", "kept")["data"] == {"a": "1"}
    finally:
        stop_sandbox(proc)


def server_kubectl() -> Path:
    from tests.fixtures.sandbox import TOOLS

    return TOOLS / "kubectl"


def server_helm() -> Path:
    from tests.fixtures.sandbox import TOOLS

    return TOOLS / "helm"


def test_up_status_down_manage_a_detached_sandbox(tmp_path: Path) -> None:
    info = server.up(tmp_path, seed="empty")
    try:
        assert server.status(tmp_path) == info
        kubeconfig = Path(info.kubeconfig)
        assert "current-context: opsgate-sandbox" in kubeconfig.read_text()
        home = tmp_path / "home"
        home.mkdir()
        sandbox = SandboxInfo(
            kubeconfig,
            "opsgate-sandbox",
            info.api_url,
            None,
            None,
            None,
            server_kubectl(),
            server_helm(),
            home,
        )
        assert len(get_json(sandbox, "nodes")["items"]) == 3
    finally:
        assert server.down(tmp_path) is True
    assert server.status(tmp_path) is None
    assert server.down(tmp_path) is False
