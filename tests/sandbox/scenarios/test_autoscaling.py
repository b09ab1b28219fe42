"""Scenarios: an HPA that cannot compute its metric until the pods request CPU, and one that
scales its Deployment under simulated load (`sandbox.opsgate.dev/cpu-usage`)."""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.sandbox.scenarios.task import Task, apply, get, jsonpath, run, run_task

pytestmark = pytest.mark.sandbox


def _deployment(resources: str = "", annotations: str = "{}") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}, annotations: {annotations}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        {resources}
"""


AUTOSCALE = run("autoscale", "deployment", "web", "-n", "{ns}", "--cpu=50%", "--min=2", "--max=5")


def _hpa_works(sandbox: SandboxInfo, namespace: str) -> list[str]:
    hpa = get(sandbox, namespace, "hpa", "web")
    if hpa is None:
        return ["no HPA web"]
    problems = []
    active = [c for c in hpa["status"].get("conditions", []) if c["type"] == "ScalingActive"]
    if not active or active[0]["status"] != "True":
        problems.append(f"ScalingActive is not True: {active}")
    listed = kubectl(sandbox, "get", "hpa", "web", "-n", namespace).stdout
    if "<unknown>" in listed:
        problems.append(f"targets unknown: {listed}")
    replicas = int(jsonpath(sandbox, namespace, "deploy", "web", "-o", "jsonpath={.spec.replicas}"))
    if not 2 <= replicas <= 5:
        problems.append(f"{replicas} replicas")
    return problems


def test_hpa_needs_cpu_requests(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(apply(_deployment()), AUTOSCALE),
        fix=(run("set", "resources", "deployment/web", "-n", "{ns}", "--requests=cpu=100m"),),
        verify=_hpa_works,
    )
    run_task(sandbox, namespace, task)


def test_missing_request_is_reported_as_the_controller_does(
    sandbox: SandboxInfo, namespace: str
) -> None:
    assert (
        kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=_deployment()).returncode == 0
    )
    made = kubectl(sandbox, *[a.replace("{ns}", namespace) for a in AUTOSCALE.args])
    assert made.returncode == 0, made.stderr
    listed = kubectl(sandbox, "get", "hpa", "web", "-n", namespace).stdout
    assert "cpu: <unknown>/50%" in listed
    described = kubectl(sandbox, "describe", "hpa", "web", "-n", namespace).stdout
    assert (
        "failed to get cpu utilization: missing request for cpu in container web of Pod web-"
        in described
    )
    # Below minReplicas the target is scaled up whatever the metrics say.
    assert jsonpath(sandbox, namespace, "deploy", "web", "-o", "jsonpath={.spec.replicas}") == "2"


def test_load_above_target_scales_up_to_the_maximum(sandbox: SandboxInfo, namespace: str) -> None:
    loaded = _deployment(
        "resources: {requests: {cpu: 100m}}", "{sandbox.opsgate.dev/cpu-usage: 200m}"
    )
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=loaded).returncode == 0
    made = kubectl(sandbox, *[a.replace("{ns}", namespace) for a in AUTOSCALE.args])
    assert made.returncode == 0, made.stderr
    assert jsonpath(sandbox, namespace, "deploy", "web", "-o", "jsonpath={.spec.replicas}") == "5"
    listed = kubectl(sandbox, "get", "hpa", "web", "-n", namespace).stdout.splitlines()[1].split()
    assert listed[:4] == ["web", "Deployment/web", "cpu:", "200%/50%"]
    events = kubectl(
        sandbox, "get", "events", "-n", namespace, "--field-selector", "reason=SuccessfulRescale"
    ).stdout
    assert (
        "New size: 5; reason: cpu resource utilization (percentage of request) above target"
        in events
    )
    v1 = kubectl(
        sandbox,
        "get",
        "horizontalpodautoscalers.v1.autoscaling",
        "web",
        "-n",
        namespace,
        "-o",
        "jsonpath={.status.currentCPUUtilizationPercentage}",
    )
    assert v1.stdout == "200"
