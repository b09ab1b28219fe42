"""Fidelity: the Argo Rollouts controller, driven by the same kubectl patches the plugin sends."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxInfo, get_json, kubectl

pytestmark = pytest.mark.sandbox

STEPS = [
    {"setWeight": 25},
    {"pause": {}},
    {"setWeight": 50},
    {"pause": {"duration": "1s"}},
    {"setWeight": 75},
    {"pause": {}},
]


def _rollout(namespace: str, image: str) -> str:
    return json.dumps(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": "shop", "namespace": namespace},
            "spec": {
                "replicas": 4,
                "selector": {"matchLabels": {"app": "shop"}},
                "template": {
                    "metadata": {"labels": {"app": "shop"}},
                    "spec": {"containers": [{"name": "shop", "image": image}]},
                },
                "strategy": {"canary": {"steps": STEPS}},
            },
        }
    )


def _status(sandbox: SandboxInfo, namespace: str) -> Any:
    return get_json(sandbox, "rollout", "shop", "-n", namespace)["status"]


def _patch(sandbox: SandboxInfo, namespace: str, body: dict[str, Any], status: bool = True) -> None:
    argv = ["patch", "rollout", "shop", "-n", namespace, "--type=merge", "-p", json.dumps(body)]
    result = kubectl(sandbox, *argv, *(["--subresource=status"] if status else []))
    assert result.returncode == 0, result.stderr


def _start_canary(sandbox: SandboxInfo, namespace: str) -> Any:
    assert (
        kubectl(sandbox, "apply", "-f", "-", stdin=_rollout(namespace, "shop:1.0")).returncode == 0
    )
    first = _status(sandbox, namespace)
    assert first["phase"] == "Healthy"
    assert (
        kubectl(sandbox, "apply", "-f", "-", stdin=_rollout(namespace, "shop:2.0")).returncode == 0
    )
    status = _status(sandbox, namespace)
    assert status["stableRS"] == first["stableRS"]
    return status


def test_canary_pauses_at_the_first_pause_step(sandbox: SandboxInfo, namespace: str) -> None:
    status = _start_canary(sandbox, namespace)
    assert (status["phase"], status["currentStepIndex"]) == ("Paused", 1)
    assert status["pauseConditions"][0]["reason"] == "CanaryPauseStep"
    assert status["canary"]["weights"]["canary"]["weight"] == 25
    assert status["currentPodHash"] != status["stableRS"]
    counts = {
        rs["metadata"]["labels"]["rollouts-pod-template-hash"]: rs["spec"]["replicas"]
        for rs in get_json(sandbox, "rs", "-n", namespace)["items"]
    }
    assert counts == {status["currentPodHash"]: 1, status["stableRS"]: 3}


def test_promote_advances_and_timed_pause_expires(sandbox: SandboxInfo, namespace: str) -> None:
    _start_canary(sandbox, namespace)
    _patch(sandbox, namespace, {"status": {"pauseConditions": None}})
    _patch(sandbox, namespace, {"spec": {"paused": False}}, status=False)
    deadline = time.monotonic() + 10
    status = _status(sandbox, namespace)
    while status["currentStepIndex"] < 5 and time.monotonic() < deadline:
        time.sleep(0.3)
        status = _status(sandbox, namespace)
    assert (status["phase"], status["currentStepIndex"]) == ("Paused", 5)
    assert status["canary"]["weights"]["canary"]["weight"] == 75


def test_promote_full_makes_the_canary_stable(sandbox: SandboxInfo, namespace: str) -> None:
    canary = _start_canary(sandbox, namespace)["currentPodHash"]
    _patch(sandbox, namespace, {"status": {"promoteFull": True, "pauseConditions": None}})
    status = _status(sandbox, namespace)
    assert (status["phase"], status["stableRS"], status["currentStepIndex"]) == (
        "Healthy",
        canary,
        len(STEPS),
    )
    assert status["availableReplicas"] == 4


def test_abort_then_retry(sandbox: SandboxInfo, namespace: str) -> None:
    _start_canary(sandbox, namespace)
    _patch(sandbox, namespace, {"status": {"abort": True}})
    aborted = _status(sandbox, namespace)
    assert aborted["phase"] == "Degraded"
    assert aborted["message"].startswith("RolloutAborted")
    assert aborted["canary"]["weights"]["canary"]["weight"] == 0
    _patch(sandbox, namespace, {"status": {"abort": False}})
    retried = _status(sandbox, namespace)
    assert (retried["phase"], retried["currentStepIndex"]) == ("Paused", 1)


def test_undo_to_the_stable_template_is_immediate(sandbox: SandboxInfo, namespace: str) -> None:
    stable = _start_canary(sandbox, namespace)["stableRS"]
    assert (
        kubectl(sandbox, "apply", "-f", "-", stdin=_rollout(namespace, "shop:1.0")).returncode == 0
    )
    status = _status(sandbox, namespace)
    assert (status["phase"], status["stableRS"], status["currentPodHash"]) == (
        "Healthy",
        stable,
        stable,
    )


def test_restart_at_replaces_pods(sandbox: SandboxInfo, namespace: str) -> None:
    assert (
        kubectl(sandbox, "apply", "-f", "-", stdin=_rollout(namespace, "shop:1.0")).returncode == 0
    )
    before = {p["metadata"]["name"] for p in get_json(sandbox, "pods", "-n", namespace)["items"]}
    time.sleep(1.1)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    _patch(sandbox, namespace, {"spec": {"restartAt": now}}, status=False)
    after = {p["metadata"]["name"] for p in get_json(sandbox, "pods", "-n", namespace)["items"]}
    assert len(after) == 4
    assert before.isdisjoint(after)
    assert _status(sandbox, namespace)["restartedAt"] == now


def test_demo_checkout_is_paused_mid_canary(sandbox: SandboxInfo) -> None:
    status = get_json(sandbox, "rollout", "checkout", "-n", "shop")["status"]
    assert status["phase"] == "Paused"
    assert 0 < status["currentStepIndex"] < 6
    table = kubectl(sandbox, "get", "rollouts", "-n", "shop").stdout
    assert table.splitlines()[0].split() == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
    ]
