"""Public charts (`corpus/charts`, sources in `corpus/SOURCES.md`) through their whole helm life.

Each chart is linted and rendered by the real helm, then installed with `--wait`, rolled out,
upgraded, rolled back and uninstalled against the sandbox, as on a real cluster. The
`helm create`, Chart Template Guide and CronTab charts have their tests in `test_corpus`.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.sandbox import SandboxInfo, get_json, helm, kubectl

pytestmark = pytest.mark.sandbox

CHARTS = Path(__file__).parent / "corpus" / "charts"


def _chart(name: str) -> str:
    return str(CHARTS / name)


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr


def _rolled_out(sandbox: SandboxInfo, namespace: str, *workloads: str) -> None:
    for workload in workloads:
        _ok(
            kubectl(
                sandbox, "rollout", "status", workload, "-n", namespace, "--timeout=20s", timeout=40
            )
        )


def _revisions(sandbox: SandboxInfo, release: str, namespace: str) -> list[tuple[int, str]]:
    listed = helm(sandbox, "history", release, "-n", namespace, "-o", "json")
    _ok(listed)
    return [(h["revision"], h["status"]) for h in json.loads(listed.stdout)]


@pytest.mark.parametrize(
    "chart", ["podinfo", "kube-state-metrics", "cert-manager", "ingress-nginx", "redis"]
)
def test_chart_lints_and_renders(sandbox: SandboxInfo, chart: str) -> None:
    linted = helm(sandbox, "lint", _chart(chart))
    _ok(linted)
    assert "0 chart(s) failed" in linted.stdout
    rendered = helm(sandbox, "template", "demo", _chart(chart))
    _ok(rendered)
    assert "kind: " in rendered.stdout


def test_podinfo_install_upgrade_rollback_uninstall(sandbox: SandboxInfo, namespace: str) -> None:
    chart = _chart("podinfo")
    _ok(helm(sandbox, "install", "pi", chart, "-n", namespace, "--wait", "--timeout=30s"))
    _rolled_out(sandbox, namespace, "deployment/pi-podinfo")
    endpoints = get_json(sandbox, "endpoints", "pi-podinfo", "-n", namespace)
    assert sorted(p["name"] for p in endpoints["subsets"][0]["ports"]) == ["grpc", "http"]
    # Helm v4 reapplies the two-port Service server-side: both ports must survive.
    upgraded = helm(
        sandbox,
        "upgrade",
        "pi",
        chart,
        "-n",
        namespace,
        "--set",
        "redis.enabled=true",
        "--set",
        "hpa.enabled=true",
        "--set",
        "hpa.memory=200Mi",
        "--set",
        "ui.message=hello",
        "--wait",
        "--timeout=30s",
    )
    _ok(upgraded)
    _rolled_out(sandbox, namespace, "deployment/pi-podinfo", "deployment/pi-podinfo-redis")
    ports = get_json(sandbox, "service", "pi-podinfo", "-n", namespace)["spec"]["ports"]
    assert [(p["name"], p["port"]) for p in ports] == [("http", 9898), ("grpc", 9999)]
    args = get_json(sandbox, "deployment", "pi-podinfo", "-n", namespace)["spec"]["template"][
        "spec"
    ]["containers"][0]["command"]
    assert "--cache-server=tcp://pi-podinfo-redis:6379" in args
    _ok(kubectl(sandbox, "get", "hpa", "pi-podinfo", "-n", namespace))
    _ok(helm(sandbox, "rollback", "pi", "1", "-n", namespace, "--wait", "--timeout=30s"))
    assert kubectl(sandbox, "get", "deployment", "pi-podinfo-redis", "-n", namespace).returncode
    assert kubectl(sandbox, "get", "hpa", "pi-podinfo", "-n", namespace).returncode
    assert _revisions(sandbox, "pi", namespace) == [
        (1, "superseded"),
        (2, "superseded"),
        (3, "deployed"),
    ]
    _ok(helm(sandbox, "uninstall", "pi", "-n", namespace, "--wait"))
    assert get_json(sandbox, "deployments,services", "-n", namespace)["items"] == []


def test_kube_state_metrics_probes_its_telemetry_port(sandbox: SandboxInfo, namespace: str) -> None:
    # The readiness probe asks port 8081, which the chart does not declare: the image serves it.
    chart = _chart("kube-state-metrics")
    fast = ["--set", "readinessProbe.initialDelaySeconds=0"]
    _ok(helm(sandbox, "install", "ksm", chart, "-n", namespace, *fast, "--wait", "--timeout=20s"))
    _rolled_out(sandbox, namespace, "deployment/ksm-kube-state-metrics")
    sa = f"system:serviceaccount:{namespace}:ksm-kube-state-metrics"
    for resource in ("pods", "deployments.apps", "leases.coordination.k8s.io"):
        allowed = kubectl(sandbox, "auth", "can-i", "list", resource, "-A", "--as", sa)
        assert allowed.stdout.strip() == "yes", resource
    denied = kubectl(sandbox, "auth", "can-i", "delete", "pods", "-A", "--as", sa)
    assert denied.stdout.strip() == "no"
    # The ServiceMonitor needs the Prometheus Operator's CRD, which this cluster does not have.
    monitored = helm(
        sandbox,
        "upgrade",
        "ksm",
        chart,
        "-n",
        namespace,
        *fast,
        "--set",
        "prometheus.monitor.enabled=true",
    )
    assert monitored.returncode != 0
    assert 'no matches for kind "ServiceMonitor" in version "monitoring.coreos.com/v1"' in (
        monitored.stderr
    )
    _ok(
        helm(
            sandbox,
            "upgrade",
            "ksm",
            chart,
            "-n",
            namespace,
            *fast,
            "--set",
            "collectors={pods,nodes}",
            "--wait",
            "--timeout=20s",
        )
    )
    sa_denied = kubectl(sandbox, "auth", "can-i", "list", "deployments.apps", "-A", "--as", sa)
    assert sa_denied.stdout.strip() == "no"
    _ok(helm(sandbox, "rollback", "ksm", "1", "-n", namespace, "--wait", "--timeout=20s"))
    sa_again = kubectl(sandbox, "auth", "can-i", "list", "deployments.apps", "-A", "--as", sa)
    assert sa_again.stdout.strip() == "yes"
    _ok(helm(sandbox, "uninstall", "ksm", "-n", namespace, "--wait"))
    assert kubectl(sandbox, "get", "clusterrole", "ksm-kube-state-metrics").returncode != 0


def test_cert_manager_ships_its_crds_and_serves_them(sandbox: SandboxInfo, namespace: str) -> None:
    chart = _chart("cert-manager")
    fast = ["--set", "crds.enabled=true", "--set", "webhook.readinessProbe.initialDelaySeconds=0"]
    try:
        installed = helm(
            sandbox, "install", "cm", chart, "-n", namespace, *fast, "--wait", "--timeout=30s"
        )
        _ok(installed)
        _rolled_out(
            sandbox,
            namespace,
            "deployment/cm-cert-manager",
            "deployment/cm-cert-manager-webhook",
            "deployment/cm-cert-manager-cainjector",
        )
        # The leader election Role lives in kube-system, outside the release's namespace.
        _ok(kubectl(sandbox, "get", "role", "cm-cert-manager:leaderelection", "-n", "kube-system"))
        issuer = """
apiVersion: cert-manager.io/v1
kind: Issuer
metadata: {name: selfsigned}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: demo-tls}
spec:
  secretName: demo-tls
  dnsNames: [demo.example.com]
  privateKey: {algorithm: ECDSA, size: 256}
  issuerRef: {name: selfsigned, kind: Issuer}
"""
        _ok(kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=issuer))
        listed = kubectl(sandbox, "get", "certs", "-n", namespace, "-o", "wide")
        _ok(listed)
        assert listed.stdout.split()[:6] == ["NAME", "READY", "SECRET", "ISSUER", "STATUS", "AGE"]
        bad = kubectl(
            sandbox,
            "apply",
            "-n",
            namespace,
            "-f",
            "-",
            stdin=issuer.replace("algorithm: ECDSA", "algorithm: DSA"),
        )
        assert bad.returncode != 0
        assert 'spec.privateKey.algorithm: Unsupported value: "DSA"' in bad.stderr
        _ok(
            helm(
                sandbox,
                "upgrade",
                "cm",
                chart,
                "-n",
                namespace,
                "--reuse-values",
                "--set",
                "replicaCount=2",
                "--wait",
                "--timeout=30s",
            )
        )
        assert (
            get_json(sandbox, "deployment", "cm-cert-manager", "-n", namespace)["status"][
                "readyReplicas"
            ]
            == 2
        )
        _ok(helm(sandbox, "rollback", "cm", "1", "-n", namespace, "--wait", "--timeout=30s"))
        assert (
            get_json(sandbox, "deployment", "cm-cert-manager", "-n", namespace)["spec"]["replicas"]
            == 1
        )
        removed = helm(sandbox, "uninstall", "cm", "-n", namespace, "--wait")
        _ok(removed)
        # `helm.sh/resource-policy: keep`: the CRDs (and so the Certificates) outlive the release.
        assert "[CustomResourceDefinition] certificates.cert-manager.io" in removed.stdout
        _ok(kubectl(sandbox, "get", "certificate", "demo-tls", "-n", namespace))
        assert (
            kubectl(sandbox, "get", "role", "-n", "kube-system", "-o", "name").stdout.count(
                "cm-cert-manager"
            )
            == 0
        )
    finally:
        for crd in ("certificates", "issuers", "clusterissuers"):
            kubectl(sandbox, "delete", "crd", f"{crd}.cert-manager.io", "--ignore-not-found")


def test_ingress_nginx_hooks_make_the_webhook_secret(sandbox: SandboxInfo, namespace: str) -> None:
    # The pre-install hook Job (kube-webhook-certgen create) makes the Secret the controller
    # mounts; without it the controller would wait in ContainerCreating.
    chart = _chart("ingress-nginx")
    fast = [
        "--set",
        "controller.readinessProbe.initialDelaySeconds=0",
        "--set",
        "controller.ingressClassResource.name=nginx-corpus",
        "--set",
        "controller.ingressClass=nginx-corpus",
    ]
    installed = helm(
        sandbox, "install", "ing", chart, "-n", namespace, *fast, "--wait", "--timeout=40s"
    )
    _ok(installed)
    _rolled_out(sandbox, namespace, "deployment/ing-ingress-nginx-controller")
    secret = get_json(sandbox, "secret", "ing-ingress-nginx-admission", "-n", namespace)
    assert sorted(secret["data"]) == ["ca", "cert", "key"]
    webhook = get_json(sandbox, "validatingwebhookconfiguration", "ing-ingress-nginx-admission")
    assert webhook["webhooks"][0]["clientConfig"]["caBundle"] == secret["data"]["ca"]
    # hook-succeeded: the hook Jobs are gone once they completed.
    assert get_json(sandbox, "jobs", "-n", namespace)["items"] == []
    assert get_json(sandbox, "ingressclass", "nginx-corpus")["spec"]["controller"] == (
        "k8s.io/ingress-nginx"
    )
    service = get_json(sandbox, "service", "ing-ingress-nginx-controller", "-n", namespace)
    assert service["spec"]["type"] == "LoadBalancer"
    assert all(p.get("nodePort") for p in service["spec"]["ports"])
    upgraded = helm(
        sandbox,
        "upgrade",
        "ing",
        chart,
        "-n",
        namespace,
        *fast,
        "--set",
        "controller.config.use-forwarded-headers=true",
        "--wait",
        "--timeout=40s",
    )
    _ok(upgraded)
    config = get_json(sandbox, "configmap", "ing-ingress-nginx-controller", "-n", namespace)
    assert config["data"]["use-forwarded-headers"] == "true"
    _ok(helm(sandbox, "rollback", "ing", "1", "-n", namespace, "--wait", "--timeout=40s"))
    config = get_json(sandbox, "configmap", "ing-ingress-nginx-controller", "-n", namespace)
    assert "use-forwarded-headers" not in config["data"]
    _ok(helm(sandbox, "uninstall", "ing", "-n", namespace, "--wait"))
    assert kubectl(sandbox, "get", "ingressclass", "nginx-corpus").returncode != 0
    assert (
        kubectl(sandbox, "get", "validatingwebhookconfiguration", "ing-ingress-nginx-admission")
    ).returncode != 0


def test_redis_statefulset_keeps_its_password_and_claim(
    sandbox: SandboxInfo, namespace: str
) -> None:
    chart = _chart("redis")
    fast = ["--set", "master.readinessProbe.initialDelaySeconds=0"]
    _ok(helm(sandbox, "install", "kv", chart, "-n", namespace, *fast, "--wait", "--timeout=30s"))
    _rolled_out(sandbox, namespace, "statefulset/kv-redis-master")
    claim = get_json(sandbox, "pvc", "redis-data-kv-redis-master-0", "-n", namespace)
    assert (claim["status"]["phase"], claim["spec"]["storageClassName"]) == ("Bound", "standard")

    def password() -> str:
        data = get_json(sandbox, "secret", "kv-redis", "-n", namespace)["data"]
        return base64.b64decode(data["redis-password"]).decode()

    first = password()
    assert len(first) == 10
    seen = kubectl(
        sandbox, "exec", "kv-redis-master-0", "-n", namespace, "--", "printenv", "REDIS_PASSWORD"
    )
    assert seen.stdout.strip() == first
    # The chart looks the Secret up (helm `lookup`) so that an upgrade keeps the password.
    _ok(
        helm(
            sandbox,
            "upgrade",
            "kv",
            chart,
            "-n",
            namespace,
            *fast,
            "--set",
            "master.resources.limits.memory=256Mi",
            "--wait",
            "--timeout=30s",
        )
    )
    _rolled_out(sandbox, namespace, "statefulset/kv-redis-master")
    assert password() == first
    pod = get_json(sandbox, "pod", "kv-redis-master-0", "-n", namespace)
    assert pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == "256Mi"
    _ok(helm(sandbox, "rollback", "kv", "1", "-n", namespace, "--wait", "--timeout=30s"))
    _rolled_out(sandbox, namespace, "statefulset/kv-redis-master")
    pod = get_json(sandbox, "pod", "kv-redis-master-0", "-n", namespace)
    assert pod["spec"]["containers"][0]["resources"]["limits"]["memory"] == "192Mi"
    _ok(helm(sandbox, "uninstall", "kv", "-n", namespace, "--wait"))
    # As on a real cluster, a StatefulSet's claims outlive it.
    _ok(kubectl(sandbox, "get", "pvc", "redis-data-kv-redis-master-0", "-n", namespace))
    assert kubectl(sandbox, "get", "secret", "kv-redis", "-n", namespace).returncode != 0
