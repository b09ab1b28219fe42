"""Argv builders of every kubectl tool, as pure functions: nothing runs here."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from opsgate.tools import kubectl
from opsgate.tools.command import Target
from opsgate.tools.kubectl import mutations, previews, reads, wait_for
from tests.tools.fakes import ScriptedRunner, env_with

TARGET = Target(binary="kubectl", path="/opt/kubectl", kubeconfig="/cfg/kc", context="demo")
HEAD = ["/opt/kubectl", "--kubeconfig", "/cfg/kc", "--context", "demo"]
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"""

CASES: dict[str, list[tuple[dict[str, Any], list[str]]]] = {
    "k8s_get": [
        ({"resource": "pods"}, ["get", "pods"]),
        (
            {"resource": "deployments.apps", "name": "web", "namespace": "shop", "output": "yaml"},
            ["get", "deployments.apps", "web", "--namespace", "shop", "--output", "yaml"],
        ),
        (
            {
                "resource": "pods",
                "all_namespaces": True,
                "selector": "app=web,tier in (a,b),!canary",
                "field_selector": "status.phase!=Running",
            },
            [
                "get",
                "pods",
                "--all-namespaces",
                "--selector",
                "app=web,tier in (a,b),!canary",
                "--field-selector",
                "status.phase!=Running",
            ],
        ),
        (
            {"resource": "pods", "jsonpath": "{.items[*].metadata.name}"},
            ["get", "pods", "--output", "jsonpath={.items[*].metadata.name}"],
        ),
    ],
    "k8s_describe": [
        (
            {"resource": "deployment/web", "namespace": "shop"},
            ["describe", "deployment/web", "--namespace", "shop"],
        ),
        (
            {"resource": "pods", "selector": "app=web"},
            ["describe", "pods", "--selector", "app=web"],
        ),
    ],
    "k8s_logs": [
        ({"pod": "web-1"}, ["logs", "web-1", "--tail=200"]),
        (
            {
                "pod": "deployment/web",
                "namespace": "shop",
                "container": "app",
                "tail": 50,
                "since": "10m",
                "previous": True,
                "timestamps": True,
            },
            [
                "logs",
                "deployment/web",
                "--namespace",
                "shop",
                "--container",
                "app",
                "--tail=50",
                "--since=10m",
                "--previous",
                "--timestamps",
            ],
        ),
    ],
    "k8s_events": [
        ({}, ["events"]),
        (
            {"namespace": "shop", "for_object": "pod/web-1", "types": "Warning"},
            ["events", "--namespace", "shop", "--for", "pod/web-1", "--types", "Warning"],
        ),
    ],
    "k8s_rollout_status": [
        (
            {"resource": "deployment/web", "timeout_s": 30},
            ["rollout", "status", "deployment/web", "--watch=true", "--timeout=30s"],
        ),
    ],
    "k8s_rollout_history": [
        (
            {"resource": "deployment/web", "revision": 3},
            ["rollout", "history", "deployment/web", "--revision=3"],
        ),
    ],
    "k8s_cluster_info": [({}, ["cluster-info"])],
    "k8s_contexts": [({}, ["config", "get-contexts"])],
    "k8s_top_pods": [
        (
            {"namespace": "shop", "selector": "app=web", "containers": True},
            ["top", "pod", "--namespace", "shop", "--selector", "app=web", "--containers"],
        ),
    ],
    "k8s_top_nodes": [({}, ["top", "node"])],
    "k8s_api_resources": [
        (
            {"namespaced": False, "api_group": "apps"},
            ["api-resources", "--namespaced=false", "--api-group=apps"],
        ),
    ],
    "k8s_auth_can_i": [
        (
            {"verb": "delete", "resource": "pods", "namespace": "shop"},
            ["auth", "can-i", "delete", "pods", "--namespace", "shop"],
        ),
        (
            {
                "verb": "get",
                "resource": "secrets/api-db",
                "namespace": "shop",
                "as": "system:serviceaccount:shop:api",
                "as_groups": ["system:serviceaccounts", "system:authenticated"],
            },
            [
                "auth",
                "can-i",
                "get",
                "secrets/api-db",
                "--namespace",
                "shop",
                "--as=system:serviceaccount:shop:api",
                "--as-group=system:serviceaccounts",
                "--as-group=system:authenticated",
            ],
        ),
        (
            {"list_all": True, "namespace": "shop", "as": "jane@example.com"},
            ["auth", "can-i", "--list", "--namespace", "shop", "--as=jane@example.com"],
        ),
        (
            {"verb": "create", "resource": "deployments", "all_namespaces": True},
            ["auth", "can-i", "create", "deployments", "--all-namespaces"],
        ),
    ],
    "k8s_diff": [({"manifest": DEPLOYMENT}, ["diff", "--filename", "-"])],
    "k8s_create_job_from_cronjob": [
        (
            {"cronjob": "nightly-report", "name": "nightly-report-manual-1", "namespace": "ops"},
            [
                "create",
                "job",
                "nightly-report-manual-1",
                "--from=cronjob/nightly-report",
                "--namespace",
                "ops",
            ],
        )
    ],
    "k8s_wait_for": [
        (
            {"resource": "deployment/web", "namespace": "shop", "condition": "Available"},
            [
                "wait",
                "deployment/web",
                "--namespace",
                "shop",
                "--for=condition=Available",
                "--timeout=60s",
            ],
        ),
        (
            {
                "resource": "pods",
                "selector": "app=web",
                "condition": "Ready",
                "condition_value": "false",
                "timeout_s": 30,
            },
            [
                "wait",
                "pods",
                "--selector",
                "app=web",
                "--for=condition=Ready=false",
                "--timeout=30s",
            ],
        ),
        (
            {
                "resource": "pods",
                "name": "web-1",
                "jsonpath": '{.status.containerStatuses[?(@.name=="web")].ready}',
                "value": "true",
            },
            [
                "wait",
                "pods",
                "web-1",
                '--for=jsonpath={.status.containerStatuses[?(@.name=="web")].ready}=true',
                "--timeout=60s",
            ],
        ),
        (
            {"resource": "service/web", "jsonpath": "{.status.loadBalancer.ingress}"},
            [
                "wait",
                "service/web",
                "--for=jsonpath={.status.loadBalancer.ingress}",
                "--timeout=60s",
            ],
        ),
        (
            {"resource": "jobs", "all": True, "namespace": "batch", "deleted": True},
            ["wait", "jobs", "--namespace", "batch", "--all", "--for=delete", "--timeout=60s"],
        ),
        (
            {
                "resource": "customresourcedefinition/widgets.example.com",
                "condition": "Established",
            },
            [
                "wait",
                "customresourcedefinition/widgets.example.com",
                "--for=condition=Established",
                "--timeout=60s",
            ],
        ),
    ],
    "k8s_apply": [
        ({"manifest": DEPLOYMENT}, ["apply", "--filename", "-"]),
        (
            {"manifest": DEPLOYMENT, "server_side": True, "namespace": "shop"},
            [
                "apply",
                "--filename",
                "-",
                "--namespace",
                "shop",
                "--server-side",
                "--field-manager=opsgate",
            ],
        ),
    ],
    "k8s_patch": [
        (
            {"resource": "deployment/web", "patch": '{"spec": {"replicas": 3}}'},
            [
                "patch",
                "deployment/web",
                "--type=strategic",
                '--patch={"spec":{"replicas":3}}',
            ],
        ),
        (
            {
                "resource": "deployment",
                "name": "web",
                "patch_type": "json",
                "patch": '[{"op": "remove", "path": "/spec/paused"}]',
            },
            [
                "patch",
                "deployment",
                "web",
                "--type=json",
                '--patch=[{"op":"remove","path":"/spec/paused"}]',
            ],
        ),
    ],
    "k8s_label": [
        (
            {"resource": "pod/web-1", "labels": {"tier": "front", "old": None}, "overwrite": True},
            ["label", "pod/web-1", "tier=front", "old-", "--overwrite"],
        ),
    ],
    "k8s_annotate": [
        (
            {"resource": "deployment/web", "annotations": {"example.com/why": "load test 2"}},
            ["annotate", "deployment/web", "example.com/why=load test 2"],
        ),
    ],
    "k8s_set_image": [
        (
            {"resource": "deployment/web", "images": {"web": "nginx:1.27"}, "namespace": "shop"},
            ["set", "image", "deployment/web", "--namespace", "shop", "web=nginx:1.27"],
        ),
    ],
    "k8s_scale": [
        (
            {"resource": "deployment/web", "replicas": 0},
            ["scale", "deployment/web", "--replicas=0"],
        ),
    ],
    "k8s_rollout_restart": [
        ({"resource": "deployment/web"}, ["rollout", "restart", "deployment/web"]),
    ],
    "k8s_rollout_undo": [
        (
            {"resource": "deployment/web", "to_revision": 2},
            ["rollout", "undo", "deployment/web", "--to-revision=2"],
        ),
    ],
    "k8s_delete": [
        ({"resource": "pod/web-1"}, ["delete", "pod/web-1", "--timeout=60s"]),
        (
            {"resource": "pods", "selector": "app=web", "grace_period_s": 0, "namespace": "shop"},
            [
                "delete",
                "pods",
                "--namespace",
                "shop",
                "--selector",
                "app=web",
                "--grace-period=0",
                "--timeout=60s",
            ],
        ),
    ],
    "k8s_cordon": [({"node": "node-1"}, ["cordon", "node-1"])],
    "k8s_uncordon": [({"node": "node-1"}, ["uncordon", "node-1"])],
    "k8s_drain": [
        (
            {"node": "node-1", "delete_emptydir_data": True, "timeout_s": 60},
            [
                "drain",
                "node-1",
                "--timeout=60s",
                "--ignore-daemonsets",
                "--delete-emptydir-data",
            ],
        ),
    ],
    "k8s_run_pod": [
        (
            {
                "name": "debug",
                "image": "busybox:1.36",
                "labels": {"purpose": "debug"},
                "command": ["sleep", "3600"],
            },
            [
                "run",
                "debug",
                "--image=busybox:1.36",
                "--restart=Never",
                "--labels=purpose=debug",
                "--command",
                "--",
                "sleep",
                "3600",
            ],
        ),
    ],
    "k8s_exec": [
        (
            {"pod": "web-1", "container": "app", "command": ["ls", "-la", "/tmp"]},
            ["exec", "web-1", "--container", "app", "--", "ls", "-la", "/tmp"],
        ),
    ],
}

BUILDERS = {
    name: getattr(reads, name, None) or getattr(mutations, name)
    for name in CASES
    if name != "k8s_wait_for"
}
BUILDERS["k8s_wait_for"] = wait_for.wait_for_argv  # the tool runs it with progress reports
TOOLS = {tool.name: tool for tool in kubectl.TOOLS}


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [(name, args, expected) for name, cases in CASES.items() for args, expected in cases],
)
def test_builder_produces_exact_argv(name: str, args: dict[str, Any], expected: list[str]) -> None:
    params = TOOLS[name].parse(args)
    assert BUILDERS[name](params, TARGET) == [*HEAD, *expected]


@pytest.mark.parametrize(
    "args",
    [
        {"verb": "get"},
        {"resource": "pods"},
        {"list_all": True, "verb": "get", "resource": "pods"},
        {"list_all": True, "all_namespaces": True},
        {"verb": "get", "resource": "pods", "as_groups": ["devs"]},
        {"verb": "get", "resource": "pods", "as_user": "jane"},
    ],
)
def test_auth_can_i_asks_exactly_one_question(args: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TOOLS["k8s_auth_can_i"].parse(args)


@pytest.mark.parametrize(
    "args",
    [
        {"resource": "pods", "condition": "Ready"},
        {"resource": "pod/web", "selector": "app=web", "condition": "Ready"},
        {"resource": "pod/web"},
        {"resource": "pod/web", "condition": "Ready", "deleted": True},
        {"resource": "pod/web", "condition": "Ready", "value": "x"},
        {"resource": "pod/web", "deleted": True, "condition_value": "false"},
        {"resource": "pod/web", "jsonpath": "{.a}{.b}"},
        {"resource": "pod/web", "jsonpath": "-{.a}"},
        {"resource": "pod/web", "condition": "Ready", "timeout_s": 601},
        {"resource": "pod/web", "condition": "Ready=true"},
    ],
)
def test_wait_for_waits_for_one_thing_on_one_target_within_its_bound(
    args: dict[str, Any],
) -> None:
    with pytest.raises(ValidationError):
        TOOLS["k8s_wait_for"].parse(args)


def test_every_kubectl_command_tool_has_argv_cases() -> None:
    # k8s_diagnose runs a dozen reads, tested against the sandbox in test_diagnose.py.
    assert set(TOOLS) - {"k8s_wait_seconds", "k8s_diagnose"} == set(CASES)
    assert len(TOOLS) >= 27


def test_argv_omits_kubeconfig_and_context_only_when_none_is_known() -> None:
    params = TOOLS["k8s_get"].parse({"resource": "pods"})
    bare = Target(binary="kubectl", path="/opt/kubectl", kubeconfig=None, context=None)
    assert reads.k8s_get(params, bare) == ["/opt/kubectl", "get", "pods"]


def test_context_parameter_overrides_the_default_context() -> None:
    params = TOOLS["k8s_get"].parse({"resource": "pods", "context": "prod-eu"})
    target = Target.of(env_with(ScriptedRunner(), context="demo"), "kubectl", params.context)
    assert reads.k8s_get(params, target)[3:5] == ["--context", "prod-eu"]


def test_dry_run_flags_go_before_the_container_command() -> None:
    params = TOOLS["k8s_run_pod"].parse(
        {"name": "debug", "image": "busybox", "command": ["sleep", "10"]}
    )
    argv = previews.dry_run_argv(mutations.k8s_run_pod(params, TARGET), "yaml")
    split = argv.index("--")
    assert argv[split - 2 : split] == ["--dry-run=server", "--output=yaml"]
    assert argv[split + 1 :] == ["sleep", "10"]


def test_patch_in_yaml_is_passed_as_compact_json() -> None:
    params = TOOLS["k8s_patch"].parse(
        {"resource": "deployment/web", "patch": "spec:\n  replicas: 4\n", "patch_type": "merge"}
    )
    assert mutations.k8s_patch(params, TARGET)[-1] == '--patch={"spec":{"replicas":4}}'
