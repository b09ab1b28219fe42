"""Fidelity: describe, logs, events, top, auth can-i, exec and version against the demo seed."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.fixtures.sandbox import SandboxInfo, get_json, kubectl

pytestmark = pytest.mark.sandbox


def _pod(sandbox: SandboxInfo, app: str) -> str:
    pods = get_json(sandbox, "pods", "-n", "shop", "-l", f"app={app}")["items"]
    return str(pods[0]["metadata"]["name"])


def _crash_loop_restarts(age_s: float) -> int:
    """Restarts of a container crashing at once for `age_s`: back-offs of 10 s doubling to
    5 min (the kubelet's)."""
    restarts, elapsed, back_off = 0, 0.0, 10.0
    while elapsed + back_off <= age_s:
        elapsed += back_off
        restarts += 1
        back_off = min(back_off * 2, 300.0)
    return restarts


def test_describe_pod_shows_state_and_events(sandbox: SandboxInfo) -> None:
    name = _pod(sandbox, "api")
    result = kubectl(sandbox, "describe", "pod", name, "-n", "shop")
    assert result.returncode == 0, result.stderr
    assert "CrashLoopBackOff" in result.stdout
    # The demo world is backdated two hours; the session's sandbox keeps crashing it after.
    started = get_json(sandbox, "pod", name, "-n", "shop")["status"]["startTime"]
    age = time.time() - datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    restarts = int(result.stdout.split("Restart Count:", 1)[1].split()[0])
    expected = _crash_loop_restarts(age)
    assert expected - 3 <= restarts <= expected + 2, (restarts, expected, age)
    events = result.stdout.split("Events:", 1)[1]
    assert "BackOff" in events
    assert "Scheduled" in events


def test_describe_deployment_names_old_and_new_replicasets(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "describe", "deployment", "worker", "-n", "shop")
    assert result.returncode == 0, result.stderr
    assert "NewReplicaSet:" in result.stdout
    assert "OldReplicaSets:" in result.stdout
    assert "ScalingReplicaSet" in result.stdout


def test_describe_node_lists_its_pods(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "describe", "node", "sandbox-worker-1")
    assert result.returncode == 0, result.stderr
    assert "Non-terminated Pods:" in result.stdout
    assert "shop" in result.stdout


def test_logs_of_crashing_api_name_the_missing_variable(sandbox: SandboxInfo) -> None:
    pod = _pod(sandbox, "api")
    current = kubectl(sandbox, "logs", pod, "-n", "shop")
    assert "Error: required environment variable DATABASE_URL is not set" in current.stdout
    previous = kubectl(sandbox, "logs", pod, "-n", "shop", "--previous", "--tail=2")
    assert previous.returncode == 0, previous.stderr
    assert (
        previous.stdout.splitlines()[0]
        == "Error: required environment variable DATABASE_URL is not set"
    )
    assert len(previous.stdout.splitlines()) == 2


def test_logs_flags_tail_since_timestamps_container(sandbox: SandboxInfo) -> None:
    pod = _pod(sandbox, "frontend")
    tail = kubectl(sandbox, "logs", pod, "-n", "shop", "--tail=3", "-c", "frontend", "--timestamps")
    lines = tail.stdout.splitlines()
    assert len(lines) == 3
    assert all(line[:4].isdigit() and "Z " in line for line in lines)
    # The demo pods started two hours ago: their start-up lines are older than an hour.
    recent = kubectl(sandbox, "logs", pod, "-n", "shop", "--since=1h")
    assert "GET /healthz" in recent.stdout
    assert "Listening on" not in recent.stdout
    assert "Listening on" in kubectl(sandbox, "logs", pod, "-n", "shop", "--since=3h").stdout
    wrong = kubectl(sandbox, "logs", pod, "-n", "shop", "-c", "nope")
    assert wrong.returncode != 0
    no_previous = kubectl(sandbox, "logs", pod, "-n", "shop", "--previous")
    assert no_previous.returncode != 0


def test_logs_of_a_pod_that_cannot_pull(sandbox: SandboxInfo) -> None:
    pods = get_json(sandbox, "pods", "-n", "shop", "--field-selector", "status.phase=Pending")[
        "items"
    ]
    result = kubectl(sandbox, "logs", pods[0]["metadata"]["name"], "-n", "shop")
    assert result.returncode != 0
    assert "trying and failing to pull image" in result.stderr


def test_events_lists_warnings(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "events", "-n", "shop", "--types=Warning")
    assert result.returncode == 0, result.stderr
    assert "BackOff" in result.stdout
    assert "Normal" not in result.stdout
    core = get_json(sandbox, "events", "-n", "shop", "--field-selector", "reason=Failed")
    assert core["items"]
    assert all(e["type"] == "Warning" for e in core["items"])


def test_top_pods_and_nodes(sandbox: SandboxInfo) -> None:
    nodes = kubectl(sandbox, "top", "nodes")
    assert nodes.returncode == 0, nodes.stderr
    assert "sandbox-worker-1" in nodes.stdout
    pods = kubectl(sandbox, "top", "pods", "-n", "shop")
    assert pods.returncode == 0, pods.stderr
    assert "frontend-" in pods.stdout
    assert "worker-" in pods.stdout  # the running old replicas
    pending = get_json(sandbox, "pods", "-n", "shop", "--field-selector", "status.phase=Pending")[
        "items"
    ]
    assert pending[0]["metadata"]["name"] not in pods.stdout


def test_auth_can_i_the_admin_may_do_everything(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "auth", "can-i", "delete", "deployments", "-n", "shop")
    assert (result.returncode, result.stdout.strip()) == (0, "yes")


def test_exec_runs_over_websockets_and_returns_fast(sandbox: SandboxInfo) -> None:
    started = time.monotonic()
    pod = _pod(sandbox, "frontend")
    result = kubectl(sandbox, "exec", "-n", "shop", pod, "--", "hostname", timeout=20)
    assert (result.returncode, result.stdout) == (0, f"{pod}\n")
    assert time.monotonic() - started < 15


def test_version_reports_the_server(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "version")
    assert "Server Version: v1.35.0" in result.stdout


def test_watch_streams_a_change(sandbox: SandboxInfo, namespace: str) -> None:
    kubectl(sandbox, "create", "configmap", "watched", "-n", namespace)
    proc_result = kubectl(
        sandbox,
        "get",
        "configmap",
        "watched",
        "-n",
        namespace,
        "-w",
        "--request-timeout=2s",
        "-o",
        "name",
        timeout=20,
    )
    assert "configmap/watched" in proc_result.stdout
