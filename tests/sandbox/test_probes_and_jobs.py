"""Fidelity: liveness and startup probes, and Jobs' `backoffLimit`, read back with the real kubectl.

A failing liveness probe kills and restarts the container with the kubelet's events; a startup
probe holds readiness until it succeeds and kills the container when it fails; a failing Job
is retried up to its `backoffLimit` and then fails with `BackoffLimitExceeded`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxInfo, eventually, get_json, kubectl

pytestmark = pytest.mark.sandbox


def _apply(sandbox: SandboxInfo, namespace: str, body: dict[str, Any]) -> None:
    result = kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=json.dumps(body))
    assert result.returncode == 0, result.stderr


def _pod(name: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27", **container}]},
    }


def _container(sandbox: SandboxInfo, namespace: str, pod: str) -> dict[str, Any]:
    found: dict[str, Any] = get_json(sandbox, "pod", pod, "-n", namespace)["status"][
        "containerStatuses"
    ][0]
    return found


def test_a_failing_liveness_probe_restarts_the_container(
    sandbox: SandboxInfo, namespace: str
) -> None:
    probe = {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 1, "failureThreshold": 1}
    _apply(sandbox, namespace, _pod("live", livenessProbe=probe))
    eventually(
        lambda: _container(sandbox, namespace, "live")["restartCount"] >= 2,
        timeout=25,
        what="a second restart after the 10 s back-off",
    )
    described = kubectl(sandbox, "describe", "pod", "live", "-n", namespace)
    assert described.returncode == 0, described.stderr
    text = described.stdout
    assert "Liveness probe failed: HTTP probe failed with statuscode: 404" in text
    assert "Container web failed liveness probe, will be restarted" in text
    assert "Liveness:       http-get http://:80/healthz delay=0s timeout=1s period=1s" in text
    last = _container(sandbox, namespace, "live")["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("Error", 137)
    listed = kubectl(sandbox, "get", "pod", "live", "-n", namespace, "--no-headers")
    assert listed.stdout.split()[3] in {"2", "3"}  # the RESTARTS column


def test_fixing_the_probe_lets_the_new_pod_run(sandbox: SandboxInfo, namespace: str) -> None:
    good = {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 1, "failureThreshold": 1}
    _apply(sandbox, namespace, _pod("fixed", livenessProbe=good))
    eventually(
        lambda: _container(sandbox, namespace, "fixed")["ready"], what="the pod to become Ready"
    )
    # Three probe periods later it still runs its first container.
    time.sleep(3)
    container = _container(sandbox, namespace, "fixed")
    assert (container["restartCount"], container["ready"]) == (0, True)


def test_a_startup_probe_gates_readiness_and_kills_when_it_fails(
    sandbox: SandboxInfo, namespace: str
) -> None:
    slow = {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 3}
    _apply(
        sandbox,
        namespace,
        _pod("boot", startupProbe=slow, readinessProbe={"httpGet": {"path": "/", "port": 80}}),
    )
    first = _container(sandbox, namespace, "boot")
    assert (first["started"], first["ready"]) == (False, False)
    eventually(
        lambda: _container(sandbox, namespace, "boot")["ready"],
        what="readiness once the startup probe succeeded",
    )
    assert _container(sandbox, namespace, "boot")["started"] is True
    refused = {"tcpSocket": {"port": 9999}, "periodSeconds": 1, "failureThreshold": 2}
    _apply(sandbox, namespace, _pod("noboot", startupProbe=refused))
    eventually(
        lambda: _container(sandbox, namespace, "noboot")["restartCount"] >= 1,
        what="the startup probe's kill",
    )
    text = kubectl(sandbox, "describe", "pod", "noboot", "-n", namespace).stdout
    assert "Startup probe failed: dial tcp " in text
    assert ":9999: connect: connection refused" in text
    assert "Container web failed startup probe, will be restarted" in text
    assert _container(sandbox, namespace, "noboot")["ready"] is False


def _job(name: str, backoff_limit: int, restart_policy: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "spec": {
                    "restartPolicy": restart_policy,
                    "containers": [
                        {"name": "step", "image": "busybox:1.36", "command": ["sh", "-c", "exit 1"]}
                    ],
                }
            },
        },
    }


def _condition(sandbox: SandboxInfo, namespace: str, job: str, kind: str) -> dict[str, Any] | None:
    conditions = get_json(sandbox, "job", job, "-n", namespace)["status"].get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), None)


def test_a_failing_job_is_retried_up_to_its_backoff_limit(
    sandbox: SandboxInfo, namespace: str
) -> None:
    _apply(sandbox, namespace, _job("migrate", 1, "Never"))
    pods = get_json(sandbox, "pods", "-n", namespace, "-l", "job-name=migrate")["items"]
    # The first pod failed at once; its replacement waits for the 10 s back-off.
    assert [p["status"]["phase"] for p in pods] == ["Failed"]
    failed = eventually(
        lambda: _condition(sandbox, namespace, "migrate", "Failed"),
        timeout=25,
        what="the Job to fail after its retry",
    )
    assert (failed["status"], failed["reason"], failed["message"]) == (
        "True",
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    assert _condition(sandbox, namespace, "migrate", "FailureTarget") is not None
    listed = kubectl(sandbox, "get", "job", "migrate", "-n", namespace, "--no-headers")
    assert listed.stdout.split()[1:3] == ["Failed", "0/1"]
    described = kubectl(sandbox, "describe", "job", "migrate", "-n", namespace).stdout
    assert "Pods Statuses:    0 Active (0 Ready) / 0 Succeeded / 2 Failed" in described
    assert "BackoffLimitExceeded" in described
    assert "Job has reached the specified backoff limit" in described
    pods_listed = kubectl(sandbox, "get", "pods", "-n", namespace, "--no-headers").stdout
    assert [line.split()[2] for line in pods_listed.splitlines()] == ["Error", "Error"]


def test_an_on_failure_job_counts_restarts_and_deletes_its_pod(
    sandbox: SandboxInfo, namespace: str
) -> None:
    _apply(sandbox, namespace, _job("once", 0, "OnFailure"))
    eventually(
        lambda: _condition(sandbox, namespace, "once", "Failed"), what="the Job to fail at once"
    )
    status = get_json(sandbox, "job", "once", "-n", namespace)["status"]
    assert (status.get("failed"), status.get("active")) == (1, None)
    assert get_json(sandbox, "pods", "-n", namespace)["items"] == []
    events = kubectl(
        sandbox, "get", "events", "-n", namespace, "--field-selector", "involvedObject.name=once"
    ).stdout
    assert "SuccessfulDelete" in events
    assert "BackoffLimitExceeded" in events
