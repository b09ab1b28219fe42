"""`k8s_diagnose` against the sandbox: each analyzer finds its failure from real kubectl output.

The demo world is diagnosed in a sandbox of its own (other tests change the session's `shop`):
every seeded problem is found with its evidence and nothing on the healthy `frontend`. Each
other analyzer gets a namespace with one broken object made by kubectl, and a healthy object
beside it that must not be reported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opsgate.domain.findings import Diagnosis, Finding
from opsgate.tools import registry
from opsgate.tools.base import ToolEnv
from opsgate.tools.diagnose.analyzers import ANALYZERS
from tests.fixtures.sandbox import (
    SandboxInfo,
    deployment_manifest,
    helm,
    kubectl,
    own_sandbox,
    tool_env_for,
)

pytestmark = pytest.mark.sandbox

TOOL = registry.all_tools()["k8s_diagnose"]


async def diagnose(env: ToolEnv, **args: Any) -> tuple[Diagnosis, str]:
    output = await TOOL.run(TOOL.params.model_validate(args), env)
    assert output.ok, output.text
    return Diagnosis.model_validate(output.data), output.text


async def until_found(
    env: ToolEnv, namespace: str, match: Callable[[Finding], bool], within_s: float = 30.0
) -> tuple[Finding, Diagnosis]:
    """Diagnose `namespace` until a finding matches (the sandbox reaches states with time)."""
    deadline = time.monotonic() + within_s
    while True:
        diagnosis, text = await diagnose(env, namespace=namespace)
        for finding in diagnosis.findings:
            if match(finding):
                return finding, diagnosis
        if time.monotonic() > deadline:
            pytest.fail(f"no matching finding within {within_s:g} s; last diagnosis:\n{text}")
        await asyncio.sleep(0.5)


def apply(sandbox: SandboxInfo, *documents: dict[str, Any] | str) -> None:
    text = "\n---\n".join(d if isinstance(d, str) else json.dumps(d) for d in documents)
    result = kubectl(sandbox, "apply", "-f", "-", stdin=text)
    assert result.returncode == 0, result.stderr


def pod(namespace: str, name: str, **container: Any) -> dict[str, Any]:
    spec = {"name": "app", "image": "nginx:1.27", **container}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"containers": [spec]},
    }


def healthy(sandbox: SandboxInfo, namespace: str) -> None:
    apply(sandbox, deployment_manifest("fine", namespace, "nginx:1.27", replicas=1))


def about(finding: Finding, name: str) -> bool:
    return finding.object.name == name


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxInfo]:
    """The demo world untouched by other tests."""
    yield from own_sandbox(tmp_path_factory.mktemp("diagnose-demo"), ["--no-jenkins"])


async def test_the_demo_problems_are_found_with_evidence_and_frontend_is_not(
    demo: SandboxInfo,
) -> None:
    env = tool_env_for(demo)
    finding, diagnosis = await until_found(
        env, "shop", lambda f: about(f, "api") and f.analyzer == "crashloop"
    )
    assert finding.object.kind == "Deployment"
    assert finding.severity == "critical"
    assert any("DATABASE_URL" in line for line in finding.evidence), finding.evidence
    assert any("last exit code 1" in line for line in finding.evidence)
    by_object = {(f.object.kind, f.object.name, f.analyzer): f for f in diagnosis.findings}

    worker = by_object[("Deployment", "worker", "image_pull")]
    assert "worker:1.5.0-bad" in worker.problem
    assert worker.severity == "warning"
    assert worker.fix is not None
    assert worker.fix.tool == "k8s_rollout_undo"
    assert worker.fix.args == {"resource": "deployment/worker", "namespace": "shop"}
    assert "1.4.0" in worker.fix.why
    # The fix is a call the real tool accepts, so the approval card can open it as it is.
    registry.all_tools()["k8s_rollout_undo"].params.model_validate(worker.fix.args)

    checkout = by_object[("Rollout", "checkout", "rollout_health")]
    assert any("canary weight 20%" in line for line in checkout.evidence)
    service = by_object[("Service", "api", "service_endpoints")]
    assert "2 pods match, none ready" in service.evidence[0]

    named = {f.object.name for f in diagnosis.findings}
    assert "frontend" not in named, diagnosis.findings
    assert "cache" not in named, diagnosis.findings
    # The crash loop explains the Deployment: it is told once, not again as "unavailable".
    assert ("Deployment", "api", "deployment_unavailable") not in by_object
    assert diagnosis.skipped == []
    assert "helm_releases" in diagnosis.checked
    assert diagnosis.findings[0].severity == "critical"


async def test_a_missing_secret_key_is_named(sandbox: SandboxInfo, namespace: str) -> None:
    env = tool_env_for(sandbox)
    healthy(sandbox, namespace)
    ref = {"secretKeyRef": {"name": "db", "key": "password"}}
    apply(sandbox, pod(namespace, "needs-secret", env=[{"name": "PW", "valueFrom": ref}]))
    finding, diagnosis = await until_found(env, namespace, lambda f: f.analyzer == "config_error")
    assert finding.object.kind == "Pod"
    assert finding.object.name == "needs-secret"
    assert 'secret "db" not found' in finding.evidence[0]
    assert {f.object.name for f in diagnosis.findings} == {"needs-secret"}


async def test_an_oom_kill_names_the_limit(sandbox: SandboxInfo, namespace: str) -> None:
    env = tool_env_for(sandbox)
    body = pod(namespace, "hungry", resources={"limits": {"memory": "64Mi"}})
    body["metadata"]["annotations"] = {"sandbox.opsgate.dev/memory-need": "256Mi"}
    apply(sandbox, body)
    finding, _ = await until_found(env, namespace, lambda f: f.analyzer == "oom_killed")
    assert "OOMKilled" in finding.evidence[0]
    assert "memory limit 64Mi" in finding.evidence[0]


async def test_an_unschedulable_pod_quotes_the_scheduler(
    sandbox: SandboxInfo, namespace: str
) -> None:
    env = tool_env_for(sandbox)
    apply(sandbox, pod(namespace, "huge", resources={"requests": {"cpu": "500"}}))
    finding, _ = await until_found(env, namespace, lambda f: f.analyzer == "pending")
    assert "Insufficient cpu" in finding.evidence[0], finding.evidence


async def test_a_failing_readiness_probe_is_quoted(sandbox: SandboxInfo, namespace: str) -> None:
    env = tool_env_for(sandbox)
    probe = {"httpGet": {"path": "/healthz", "port": 80}, "periodSeconds": 1}
    apply(sandbox, pod(namespace, "probed", readinessProbe=probe))
    finding, _ = await until_found(env, namespace, lambda f: f.analyzer == "probe_failing")
    assert "Readiness probe failed" in finding.evidence[0]
    assert "404" in finding.evidence[0]


async def test_a_service_selecting_nothing(sandbox: SandboxInfo, namespace: str) -> None:
    env = tool_env_for(sandbox)
    healthy(sandbox, namespace)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "lost", "namespace": namespace},
        "spec": {"selector": {"app": "nobody"}, "ports": [{"port": 80}]},
    }
    apply(sandbox, service)
    finding, diagnosis = await until_found(env, namespace, lambda f: about(f, "lost"))
    assert finding.problem == "its selector matches no pod"
    assert finding.evidence == ["selector app=nobody: no pod matches"]
    assert {f.object.name for f in diagnosis.findings} == {"lost"}


async def test_an_ingress_to_a_missing_service(sandbox: SandboxInfo, namespace: str) -> None:
    env = tool_env_for(sandbox)
    backend = {"service": {"name": "ghost", "port": {"number": 80}}}
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "rules": [
                {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
            ]
        },
    }
    apply(sandbox, ingress)
    finding, _ = await until_found(env, namespace, lambda f: f.analyzer == "ingress_backends")
    assert finding.evidence == ["backend service ghost does not exist"]


async def test_a_claim_with_a_missing_class(sandbox: SandboxInfo, namespace: str) -> None:
    env = tool_env_for(sandbox)
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "fast-ssd",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    apply(sandbox, claim)
    finding, _ = await until_found(env, namespace, lambda f: f.analyzer == "pvc_pending")
    assert any("fast-ssd" in line for line in finding.evidence), finding.evidence


async def test_an_autoscaler_at_its_maximum(sandbox: SandboxInfo, namespace: str) -> None:
    env = tool_env_for(sandbox)
    apply(sandbox, deployment_manifest("busy", namespace, "nginx:1.27", replicas=1))
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "busy", "resources": {"requests": {"cpu": "10m"}}}]
                }
            }
        }
    }
    done = kubectl(
        sandbox,
        "patch",
        "deployment/busy",
        "-n",
        namespace,
        "--type=strategic",
        "-p",
        json.dumps(patch),
    )
    assert done.returncode == 0, done.stderr
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "busy", "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "busy"},
            "minReplicas": 1,
            "maxReplicas": 1,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 1},
                    },
                }
            ],
        },
    }
    apply(sandbox, hpa)
    finding, _ = await until_found(env, namespace, lambda f: f.analyzer == "hpa_at_max")
    assert finding.evidence[0] == "1 of at most 1 replicas"


async def test_a_failed_helm_release_offers_a_rollback(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    env = tool_env_for(sandbox)
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: '1'\n"
    (chart / "templates" / "cm.yaml").write_text(config)
    first = helm(sandbox, "install", "app", str(chart), "-n", namespace)
    assert first.returncode == 0, first.stderr
    # Revision 2 asks for an object the server refuses: the upgrade fails, the release is failed.
    (chart / "templates" / "bad.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: Not_Valid\n"
        "spec:\n  ports: [{port: 80}]\n"
    )
    second = helm(sandbox, "upgrade", "app", str(chart), "-n", namespace)
    assert second.returncode != 0, second.stdout
    finding, _ = await until_found(env, namespace, lambda f: f.analyzer == "helm_release")
    assert finding.severity == "critical"
    assert finding.problem == "release is failed"
    assert finding.fix is not None
    assert finding.fix.tool == "helm_rollback"
    assert finding.fix.args == {"release": "app", "namespace": namespace, "revision": 1}
    registry.all_tools()["helm_rollback"].params.model_validate(finding.fix.args)


async def test_a_healthy_namespace_is_healthy_and_says_what_was_checked(
    sandbox: SandboxInfo, namespace: str
) -> None:
    env = tool_env_for(sandbox)
    healthy(sandbox, namespace)
    diagnosis, text = await diagnose(env, namespace=namespace)
    assert diagnosis.findings == []
    assert diagnosis.healthy
    assert text.startswith(f"No problem found in namespace {namespace} by: pods, deployments")
    # Every analyzer ran: the sandbox serves every kind they read.
    assert set(diagnosis.checked) == {a.name for a in ANALYZERS}


async def test_what_cannot_be_read_is_not_checked_never_healthy(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    """An identity that may not list ingresses: the ingress analyzer is reported not checked."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"{namespace}-reader"},
        "rules": [
            {
                "apiGroups": ["*"],
                "resources": [
                    "pods",
                    "replicasets",
                    "deployments",
                    "statefulsets",
                    "services",
                    "endpoints",
                    "persistentvolumeclaims",
                    "horizontalpodautoscalers",
                    "events",
                    "rollouts",
                    "nodes",
                    "secrets",
                ],
                "verbs": ["get", "list"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{namespace}-reader"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": f"{namespace}-reader",
        },
        "subjects": [{"kind": "User", "name": "limited", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    apply(sandbox, role, binding)
    config = json.loads(kubectl(sandbox, "config", "view", "--raw", "-o", "json").stdout)
    for user in config["users"]:
        user["user"]["as"] = "limited"
    limited = tmp_path / "kubeconfig"
    limited.write_text(json.dumps(config))
    env = dataclasses.replace(tool_env_for(sandbox), kubeconfig=limited)
    diagnosis, text = await diagnose(env, namespace=namespace)
    assert [s.what for s in diagnosis.skipped] == ["ingresses"], text
    assert "forbidden" in diagnosis.skipped[0].reason
    assert not diagnosis.healthy
    assert "NOT checked: ingresses" in text


async def test_a_node_under_memory_pressure(fresh_sandbox: SandboxInfo) -> None:
    env = tool_env_for(fresh_sandbox)
    node = json.loads(
        kubectl(fresh_sandbox, "get", "node", "sandbox-worker-1", "-o", "json").stdout
    )
    for condition in node["status"]["conditions"]:
        if condition["type"] == "MemoryPressure":
            condition.update(status="True", message="kubelet has insufficient memory available")
    patch = json.dumps({"status": {"conditions": node["status"]["conditions"]}})
    done = kubectl(
        fresh_sandbox, "patch", "node", "sandbox-worker-1", "--subresource=status",
        "--type=merge", "-p", patch,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    diagnosis, text = await diagnose(env, all_namespaces=True)
    (finding,) = [f for f in diagnosis.findings if f.analyzer == "node_health"]
    assert finding.object.name == "sandbox-worker-1", text
    assert finding.problem == "node is under pressure"
    assert finding.evidence == ["MemoryPressure: kubelet has insufficient memory available"]
