"""Scenarios: a pod reading its mounted ConfigMap through exec, a web page served from a
ConfigMap, and a NetworkPolicy letting only the frontend reach a backend (checked with exec
`wget` from two client pods)."""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.sandbox.scenarios.task import Task, apply, run, run_task

pytestmark = pytest.mark.sandbox

CONFIG = """apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {mode: debug, "app.properties": "color=blue\\n"}
"""
READER = """apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: [sh, -c, "sleep 3600"]
    env:
    - name: APP_MODE
      valueFrom: {configMapKeyRef: {name: app-config, key: mode}}
    volumeMounts: [{name: config, mountPath: /etc/config}]
  volumes:
  - name: config
    configMap: {name: app-config}
"""


def _exec(sandbox: SandboxInfo, namespace: str, pod: str, *argv: str) -> tuple[int, str]:
    result = kubectl(sandbox, "exec", "-n", namespace, pod, "--", *argv)
    return result.returncode, result.stdout + result.stderr


def _reads_production(sandbox: SandboxInfo, namespace: str) -> list[str]:
    code, mode = _exec(sandbox, namespace, "reader", "cat", "/etc/config/mode")
    return [] if (code, mode) == (0, "production") else [f"/etc/config/mode is {mode!r}"]


def test_pod_reads_its_mounted_configmap(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(apply(CONFIG), apply(READER)),
        fix=(
            run(
                "patch",
                "configmap",
                "app-config",
                "-n",
                "{ns}",
                "-p",
                '{"data":{"mode":"production"}}',
            ),
        ),
        verify=_reads_production,
    )
    run_task(sandbox, namespace, task)
    assert _exec(sandbox, namespace, "reader", "printenv", "HOSTNAME") == (0, "reader\n")
    assert _exec(sandbox, namespace, "reader", "ls", "/etc/config") == (0, "app.properties\nmode\n")


PAGE = """apiVersion: v1
kind: ConfigMap
metadata: {name: page}
data: {"index.html": "<h1>served from a ConfigMap</h1>\\n"}
"""
WEB = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
VOLUMES---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""
MOUNTED = """        volumeMounts: [{name: page, mountPath: /usr/share/nginx/html}]
      volumes: [{name: page, configMap: {name: page}}]
"""
CLIENT = """apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{role: {role}}}}}
spec:
  containers: [{{name: c, image: "busybox:1.36", command: [sleep, "3600"]}}]
"""


def _page(sandbox: SandboxInfo, namespace: str, client: str) -> tuple[int, str]:
    return _exec(sandbox, namespace, client, "wget", "-qO-", "-T", "2", "http://web")


def test_web_page_served_from_a_configmap(sandbox: SandboxInfo, namespace: str) -> None:
    def served(sb: SandboxInfo, ns: str) -> list[str]:
        code, body = _page(sb, ns, "client")
        return [] if "served from a ConfigMap" in body else [f"web serves {code}: {body[:60]!r}"]

    task = Task(
        setup=(
            apply(PAGE),
            apply(WEB.replace("VOLUMES", "")),
            apply(CLIENT.format(name="client", role="frontend")),
        ),
        fix=(apply(WEB.replace("VOLUMES", MOUNTED)),),
        verify=served,
    )
    run_task(sandbox, namespace, task)


POLICY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-frontend}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: frontend}}}]
    ports: [{protocol: TCP, port: 80}]
"""
DENY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def _only_frontend(sandbox: SandboxInfo, namespace: str) -> list[str]:
    problems = []
    code, body = _page(sandbox, namespace, "frontend")
    if code != 0 or "Welcome to nginx" not in body:
        problems.append(f"frontend cannot reach web: {body.strip()!r}")
    code, body = _page(sandbox, namespace, "other")
    if code == 0:
        problems.append("other reaches web")
    elif "download timed out" not in body:
        problems.append(f"other fails oddly: {body.strip()!r}")
    return problems


def test_network_policy_admits_only_the_frontend(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(
            apply(WEB.replace("VOLUMES", "")),
            apply(CLIENT.format(name="frontend", role="frontend")),
            apply(CLIENT.format(name="other", role="other")),
            apply(DENY),
        ),
        fix=(apply(POLICY),),
        verify=_only_frontend,
    )
    run_task(sandbox, namespace, task)


def test_without_policies_everyone_connects(sandbox: SandboxInfo, namespace: str) -> None:
    for manifest in (WEB.replace("VOLUMES", ""), CLIENT.format(name="other", role="other")):
        assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=manifest).returncode == 0
    code, body = _page(sandbox, namespace, "other")
    assert code == 0
    assert "Welcome to nginx!" in body
