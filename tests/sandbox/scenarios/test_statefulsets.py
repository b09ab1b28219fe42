"""Scenario: a StatefulSet brought to three ordered replicas behind its headless Service,
checked with exec (`hostname`, `nslookup` of a peer) and its per-replica claims; and the
controller's ordering, scale-down and kept claims."""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.sandbox.scenarios.task import Task, apply, get, jsonpath, run, run_task

pytestmark = pytest.mark.sandbox

STATEFULSET = """apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  serviceName: nginx
  replicas: {replicas}
  selector: {{matchLabels: {{app: nginx}}}}
  template:
    metadata: {{labels: {{app: nginx}}}}
    spec:
      containers:
      - name: nginx
        image: {image}
        ports: [{{name: web, containerPort: 80}}]
        volumeMounts: [{{name: www, mountPath: /usr/share/nginx/html}}]
  volumeClaimTemplates:
  - metadata: {{name: www}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
"""
HEADLESS = """apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: nginx}}
spec:
  clusterIP: None
  selector: {app: nginx}
  ports: [{name: web, port: 80}]
"""


def _exec(sandbox: SandboxInfo, namespace: str, pod: str, *argv: str) -> str:
    result = kubectl(sandbox, "exec", "-n", namespace, pod, "--", *argv)
    return result.stdout if result.returncode == 0 else ""


def _three_replicas(sandbox: SandboxInfo, namespace: str) -> list[str]:
    problems = []
    for i in range(3):
        pod = f"web-{i}"
        if _exec(sandbox, namespace, pod, "hostname").strip() != pod:
            problems.append(f"{pod} does not answer hostname")
        phase = jsonpath(sandbox, namespace, "pvc", f"www-{pod}", "-o", "jsonpath={.status.phase}")
        if phase != "Bound":
            problems.append(f"claim www-{pod} is {phase or 'missing'}")
    peer = _exec(sandbox, namespace, "web-0", "getent", "hosts", "web-2.nginx")
    if f"web-2.nginx.{namespace}.svc.cluster.local" not in peer:
        problems.append(f"web-0 cannot resolve web-2.nginx: {peer!r}")
    return problems


def test_statefulset_scaled_to_three_behind_its_headless_service(
    sandbox: SandboxInfo, namespace: str
) -> None:
    task = Task(
        setup=(apply(STATEFULSET.format(replicas=1, image="nginx:1.27")),),
        fix=(apply(HEADLESS), run("scale", "statefulset", "web", "-n", "{ns}", "--replicas=3")),
        verify=_three_replicas,
    )
    run_task(sandbox, namespace, task)
    status = kubectl(
        sandbox, "rollout", "status", "statefulset/web", "-n", namespace, "--timeout=5s"
    )
    assert status.returncode == 0, status.stderr


def test_ordinals_wait_for_their_predecessor(sandbox: SandboxInfo, namespace: str) -> None:
    broken = STATEFULSET.format(replicas=3, image="nginx:doesnotexist")
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=broken).returncode == 0
    names = {p["metadata"]["name"] for p in get(sandbox, namespace, "pods")["items"]}
    assert names == {"web-0"}
    fixed = kubectl(sandbox, "set", "image", "statefulset/web", "nginx=nginx:1.27", "-n", namespace)
    assert fixed.returncode == 0, fixed.stderr
    # The stuck pod is not replaced by a rolling update (it never became Ready): delete it.
    assert kubectl(sandbox, "delete", "pod", "web-0", "-n", namespace).returncode == 0
    names = {p["metadata"]["name"] for p in get(sandbox, namespace, "pods")["items"]}
    assert names == {"web-0", "web-1", "web-2"}


def test_scale_down_removes_the_highest_ordinal_and_keeps_claims(
    sandbox: SandboxInfo, namespace: str
) -> None:
    manifest = STATEFULSET.format(replicas=3, image="nginx:1.27")
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=manifest).returncode == 0
    assert (
        kubectl(sandbox, "scale", "statefulset", "web", "-n", namespace, "--replicas=1").returncode
        == 0
    )
    names = {p["metadata"]["name"] for p in get(sandbox, namespace, "pods")["items"]}
    assert names == {"web-0"}
    claims = {c["metadata"]["name"] for c in get(sandbox, namespace, "pvc")["items"]}
    assert claims == {"www-web-0", "www-web-1", "www-web-2"}


def test_template_change_rolls_from_the_highest_ordinal(
    sandbox: SandboxInfo, namespace: str
) -> None:
    manifest = STATEFULSET.format(replicas=3, image="nginx:1.27")
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=manifest).returncode == 0
    assert (
        kubectl(
            sandbox, "set", "image", "statefulset/web", "nginx=nginx:1.28", "-n", namespace
        ).returncode
        == 0
    )
    status = kubectl(
        sandbox, "rollout", "status", "statefulset/web", "-n", namespace, "--timeout=5s"
    )
    assert status.returncode == 0, status.stderr
    images = {
        p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
        for p in get(sandbox, namespace, "pods")["items"]
    }
    assert images == {f"web-{i}": "nginx:1.28" for i in range(3)}
