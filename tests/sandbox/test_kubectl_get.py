"""Fidelity: `kubectl get` against the sandbox in every output format, with selectors."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = pytest.mark.sandbox


def test_get_pods_shows_ready_status_restarts_age(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "get", "pods", "-n", "shop")
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    statuses = {
        line.split()[0].rsplit("-", 2)[0]: line.split()[2]
        for line in result.stdout.splitlines()[1:]
    }
    assert statuses["frontend"] == "Running"
    assert statuses["api"] == "CrashLoopBackOff"
    assert "ImagePullBackOff" in result.stdout


def test_get_pods_all_namespaces_adds_namespace_column(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "get", "pods", "-A")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split()[0] == "NAMESPACE"
    assert any(line.startswith("shop ") for line in result.stdout.splitlines())


def test_get_json_lists_deployments_with_status(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "get", "deployments", "-n", "shop", "-o", "json")
    assert result.returncode == 0, result.stderr
    items = {d["metadata"]["name"]: d for d in json.loads(result.stdout)["items"]}
    assert items["frontend"]["status"]["readyReplicas"] == 3
    assert set(items) >= {"frontend", "api", "worker"}


def test_get_yaml_name_and_jsonpath(sandbox: SandboxInfo) -> None:
    yaml_out = kubectl(sandbox, "get", "deploy", "frontend", "-n", "shop", "-o", "yaml")
    assert "kind: Deployment" in yaml_out.stdout
    names = kubectl(sandbox, "get", "deploy", "-n", "shop", "-o", "name")
    assert "deployment.apps/frontend" in names.stdout.split()
    image = kubectl(
        sandbox,
        "get",
        "deploy",
        "frontend",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    )
    assert image.stdout == "ghcr.io/opsgate-demo/frontend:1.8.2"


def test_get_wide_shows_node_column(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "get", "pods", "-n", "shop", "-o", "wide")
    assert "NODE" in result.stdout.splitlines()[0]
    assert "sandbox-worker" in result.stdout


def test_label_selector_filters(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "get", "pods", "-n", "shop", "-l", "app=frontend", "-o", "name")
    names = result.stdout.split()
    assert len(names) == 3
    assert all(n.startswith("pod/frontend-") for n in names)
    none = kubectl(sandbox, "get", "pods", "-n", "shop", "-l", "app in (nothing)", "-o", "name")
    assert none.stdout.strip() == ""


def test_field_selector_on_phase_and_node(sandbox: SandboxInfo) -> None:
    pending = kubectl(
        sandbox,
        "get",
        "pods",
        "-n",
        "shop",
        "--field-selector",
        "status.phase=Pending",
        "-o",
        "name",
    )
    assert [n.startswith("pod/worker-") for n in pending.stdout.split()] == [True]
    on_node = kubectl(
        sandbox, "get", "pods", "-A", "--field-selector", "spec.nodeName=nowhere", "-o", "name"
    )
    assert on_node.stdout.strip() == ""


def test_get_every_listed_kind(sandbox: SandboxInfo) -> None:
    kinds = (
        "pods,deployments,replicasets,statefulsets,daemonsets,services,configmaps,secrets,events"
    )
    result = kubectl(sandbox, "get", kinds, "-n", "shop")
    assert result.returncode == 0, result.stderr
    for cluster_kind in ("namespaces", "nodes"):
        assert kubectl(sandbox, "get", cluster_kind).returncode == 0


def test_api_resources_lists_short_names(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "api-resources")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "deploy" in rows["deployments"]
    assert "rollouts" in rows


def test_missing_object_is_not_found(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "get", "deploy", "nope", "-n", "shop")
    assert result.returncode != 0
    assert 'deployments.apps "nope" not found' in result.stderr
