"""Scenarios: a Service with no endpoints, and switching a Service between two Deployments.

The endpoints controller fills Endpoints and EndpointSlices from the Service's selector and
the ready pods' IPs and ports, so these verifiers read what the benchmark scripts read:
`kubectl get endpoints` and the EndpointSlice's addresses.
"""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.sandbox.scenarios.task import Task, apply, get, jsonpath, run, run_task

pytestmark = pytest.mark.sandbox


def _deployment(name: str, labels: str, replicas: int = 2) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {labels}}}
  template:
    metadata: {{labels: {labels}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{{name: http, containerPort: 80}}]
"""


def _service(selector: str, target: str = "http") -> str:
    return f"""apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {selector}
  ports: [{{name: http, port: 80, targetPort: {target}}}]
"""


def _pod_ips(sandbox: SandboxInfo, namespace: str, selector: str) -> set[str]:
    pods = get(sandbox, namespace, "pods", "-l", selector) or {"items": []}
    return {p["status"].get("podIP", "") for p in pods["items"]}


def _endpoint_ips(sandbox: SandboxInfo, namespace: str) -> set[str]:
    found = jsonpath(
        sandbox, namespace, "endpoints", "web", "-o", "jsonpath={.subsets[*].addresses[*].ip}"
    )
    return set(found.split())


def _serves(sandbox: SandboxInfo, namespace: str, selector: str) -> list[str]:
    wanted = _pod_ips(sandbox, namespace, selector)
    have = _endpoint_ips(sandbox, namespace)
    problems = (
        [] if wanted and have == wanted else [f"endpoints {have} are not {selector} {wanted}"]
    )
    slices = get(sandbox, namespace, "endpointslices", "-l", "kubernetes.io/service-name=web")
    sliced = {
        a
        for s in (slices or {"items": []})["items"]
        for e in s.get("endpoints") or []
        for a in e["addresses"]
    }
    if sliced != wanted:
        problems.append(f"endpointslice addresses {sliced} are not {wanted}")
    return problems


def test_service_with_no_endpoints_is_fixed_by_its_selector(
    sandbox: SandboxInfo, namespace: str
) -> None:
    task = Task(
        setup=(apply(_deployment("web", "{app: web}")), apply(_service("{app: frontend}"))),
        fix=(
            run(
                "patch", "service", "web", "-n", "{ns}", "-p", '{"spec":{"selector":{"app":"web"}}}'
            ),
        ),
        verify=lambda sb, ns: _serves(sb, ns, "app=web"),
    )
    run_task(sandbox, namespace, task)
    listed = kubectl(sandbox, "get", "endpoints", "web", "-n", namespace)
    assert ":80" in listed.stdout


def test_no_endpoints_prints_none_as_kubectl_does(sandbox: SandboxInfo, namespace: str) -> None:
    for step in (apply(_deployment("web", "{app: web}")), apply(_service("{app: nothing}"))):
        assert (
            kubectl(
                sandbox, *[a.replace("{ns}", namespace) for a in step.args], stdin=step.stdin
            ).returncode
            == 0
        )
    listed = kubectl(sandbox, "get", "endpoints", "web", "-n", namespace)
    assert listed.stdout.splitlines()[1].split()[:2] == ["web", "<none>"]


def test_named_target_port_a_pod_does_not_declare_gives_no_endpoints(
    sandbox: SandboxInfo, namespace: str
) -> None:
    task = Task(
        setup=(apply(_deployment("web", "{app: web}")), apply(_service("{app: web}", "web-http"))),
        fix=(
            run(
                "patch",
                "service",
                "web",
                "-n",
                "{ns}",
                "--type=json",
                "-p",
                '[{"op":"replace","path":"/spec/ports/0/targetPort","value":"http"}]',
            ),
        ),
        verify=lambda sb, ns: _serves(sb, ns, "app=web"),
    )
    run_task(sandbox, namespace, task)


def test_traffic_switch_from_blue_to_green(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(
            apply(_deployment("blue", "{app: web, version: blue}")),
            apply(_deployment("green", "{app: web, version: green}")),
            apply(_service("{app: web, version: blue}")),
        ),
        fix=(
            run(
                "patch",
                "service",
                "web",
                "-n",
                "{ns}",
                "-p",
                '{"spec":{"selector":{"version":"green"}}}',
            ),
        ),
        verify=lambda sb, ns: _serves(sb, ns, "version=green"),
    )
    run_task(sandbox, namespace, task)
    assert not _endpoint_ips(sandbox, namespace) & _pod_ips(sandbox, namespace, "version=blue")


def test_crashing_pods_are_not_ready_addresses(sandbox: SandboxInfo, namespace: str) -> None:
    crashing = _deployment("web", "{app: web}").replace(
        "    metadata: {labels: {app: web}}",
        "    metadata:\n      labels: {app: web}\n"
        "      annotations: {sandbox.opsgate.dev/behavior: CrashLoopBackOff}",
    )
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=crashing).returncode == 0
    assert (
        kubectl(
            sandbox, "apply", "-n", namespace, "-f", "-", stdin=_service("{app: web}")
        ).returncode
        == 0
    )
    endpoints = get(sandbox, namespace, "endpoints", "web")
    subset = endpoints["subsets"][0]
    assert "addresses" not in subset
    assert {a["ip"] for a in subset["notReadyAddresses"]} == _pod_ips(sandbox, namespace, "app=web")
