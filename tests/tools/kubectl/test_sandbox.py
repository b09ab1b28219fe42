"""kubectl tools run for real: the bundled kubectl through the real runner against the sandbox.

Reads run against the demo world; mutations work in their own namespace so other tests keep
the demo intact. The Secret `shop/payment-gateway` proves redaction end to end.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from opsgate.sandbox.seed import SECRET_VALUES
from opsgate.tools.base import ToolEnv
from tests.fixtures.sandbox import SandboxInfo, get_json
from tests.fixtures.sandbox import kubectl as run_kubectl
from tests.tools.kubectl.helpers import call

pytestmark = pytest.mark.sandbox

NAMESPACE = "tools-it"
NAMESPACE_MANIFEST = f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NAMESPACE}}}\n"
APP = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: hello, namespace: {NAMESPACE}, labels: {{app: hello}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: hello}}}}
  template:
    metadata: {{labels: {{app: hello}}}}
    spec: {{containers: [{{name: hello, image: "nginx:1.27"}}]}}
"""


def _secret_forms() -> list[str]:
    values = list(SECRET_VALUES.values())
    return values + [base64.b64encode(value.encode()).decode() for value in values]


async def test_binaries_come_from_the_project(tool_env: ToolEnv) -> None:
    assert tool_env.kubectl != Path("/usr/bin/kubectl")
    assert tool_env.kubectl.parent.name == "bin"


async def test_get_pods_shows_the_demo_world(tool_env: ToolEnv) -> None:
    output = await call(tool_env, "k8s_get", {"resource": "pods", "namespace": "shop"})
    assert output.ok, output.text
    assert "CrashLoopBackOff" in output.text
    assert "--context" in (output.command or "")


@pytest.mark.parametrize(
    "args",
    [
        {"resource": "secret", "name": "payment-gateway", "output": "yaml"},
        {"resource": "secrets", "output": "json"},
        {"resource": "secret/payment-gateway", "jsonpath": "{.data}"},
        {"resource": "secret/payment-gateway", "output": "table"},
    ],
)
async def test_secret_values_never_come_out_of_get(tool_env: ToolEnv, args: dict[str, Any]) -> None:
    output = await call(tool_env, "k8s_get", {**args, "namespace": "shop"})
    assert output.ok, output.text
    for secret in _secret_forms():
        assert secret not in output.text


async def test_describe_secret_shows_sizes_not_values(tool_env: ToolEnv) -> None:
    output = await call(
        tool_env, "k8s_describe", {"resource": "secret/payment-gateway", "namespace": "shop"}
    )
    assert output.ok, output.text
    assert "bytes" in output.text
    for secret in _secret_forms():
        assert secret not in output.text


async def test_describe_and_logs_explain_the_crash(tool_env: ToolEnv) -> None:
    described = await call(
        tool_env, "k8s_describe", {"resource": "deployment/api", "namespace": "shop"}
    )
    assert described.ok, described.text
    assert "api" in described.text
    logs = await call(tool_env, "k8s_logs", {"pod": "deployment/api", "namespace": "shop"})
    assert logs.ok, logs.text
    assert "DATABASE_URL" in logs.text


async def test_events_rollout_history_and_status(tool_env: ToolEnv) -> None:
    events = await call(tool_env, "k8s_events", {"namespace": "shop"})
    assert events.ok, events.text
    history = await call(
        tool_env, "k8s_rollout_history", {"resource": "deployment/worker", "namespace": "shop"}
    )
    assert history.ok, history.text
    healthy = await call(
        tool_env, "k8s_rollout_status", {"resource": "deployment/frontend", "namespace": "shop"}
    )
    assert healthy.ok, healthy.text
    stuck = await call(
        tool_env,
        "k8s_rollout_status",
        {"resource": "deployment/worker", "namespace": "shop", "timeout_s": 2},
    )
    assert not stuck.ok


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("k8s_cluster_info", {}, "running at"),
        ("k8s_contexts", {}, "NAME"),
        ("k8s_top_nodes", {}, "sandbox-worker-1"),
        ("k8s_top_pods", {"namespace": "shop"}, "frontend"),
        ("k8s_api_resources", {"api_group": "apps"}, "deployments"),
        ("k8s_auth_can_i", {"verb": "get", "resource": "pods", "namespace": "shop"}, "yes"),
    ],
)
async def test_cluster_reads(
    tool_env: ToolEnv, name: str, args: dict[str, Any], expected: str
) -> None:
    output = await call(tool_env, name, args)
    assert output.ok, output.text
    assert expected in output.text


async def test_diff_shows_a_change_without_making_it(tool_env: ToolEnv) -> None:
    manifest = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-config, namespace: shop}\n"
        "data: {LOG_LEVEL: debug, FEATURE_FLAGS: new-checkout}\n"
    )
    output = await call(tool_env, "k8s_diff", {"manifest": manifest})
    assert output.ok, output.text
    assert "debug" in output.text
    after = await call(
        tool_env,
        "k8s_get",
        {"resource": "configmap/shop-config", "namespace": "shop", "output": "yaml"},
    )
    assert "LOG_LEVEL: info" in after.text


async def test_apply_scale_label_delete_with_previews_and_verifies(tool_env: ToolEnv) -> None:
    namespace = await call(tool_env, "k8s_apply", {"manifest": NAMESPACE_MANIFEST})
    assert namespace.ok, namespace.text
    preview = await call(tool_env, "k8s_apply", {"manifest": APP}, "preview")
    assert preview.ok, preview.text
    applied = await call(tool_env, "k8s_apply", {"manifest": APP})
    assert applied.ok, applied.text
    verified = await call(tool_env, "k8s_apply", {"manifest": APP}, "verify")
    assert verified.ok, verified.text

    scale = {"resource": "deployment/hello", "namespace": NAMESPACE, "replicas": 2}
    dry = await call(tool_env, "k8s_scale", scale, "preview")
    assert dry.ok, dry.text
    assert "+  replicas: 2" in dry.text
    still_one = await call(
        tool_env,
        "k8s_get",
        {"resource": "deployment/hello", "namespace": NAMESPACE, "jsonpath": "{.spec.replicas}"},
    )
    assert still_one.text.strip() == "1"
    scaled = await call(tool_env, "k8s_scale", scale)
    assert scaled.ok, scaled.text
    assert (await call(tool_env, "k8s_scale", scale, "verify")).ok

    label = {"resource": "deployment/hello", "namespace": NAMESPACE, "labels": {"tier": "web"}}
    assert (await call(tool_env, "k8s_label", label, "preview")).ok
    labelled = await call(tool_env, "k8s_label", label)
    assert labelled.ok, labelled.text
    shown = await call(tool_env, "k8s_label", label, "verify")
    assert shown.data.verdict == "not_verified"
    assert shown.data.summary == "object updated: labels read back as set; rollout not checked"

    delete = {"resource": "deployment/hello", "namespace": NAMESPACE}
    assert (await call(tool_env, "k8s_delete", delete, "preview")).ok
    deleted = await call(tool_env, "k8s_delete", delete)
    assert deleted.ok, deleted.text
    gone = await call(tool_env, "k8s_delete", delete, "verify")
    assert gone.ok, gone.text


async def _fresh_deployment(env: ToolEnv, name: str) -> None:
    assert (await call(env, "k8s_apply", {"manifest": NAMESPACE_MANIFEST})).ok
    manifest = APP.replace("hello", name)
    applied = await call(env, "k8s_apply", {"manifest": manifest})
    assert applied.ok, applied.text
    assert (await call(env, "k8s_apply", {"manifest": manifest}, "verify")).ok


async def test_set_image_restart_and_undo_roll_out(tool_env: ToolEnv) -> None:
    await _fresh_deployment(tool_env, "roll")
    ref = {"resource": "deployment/roll", "namespace": NAMESPACE}
    image = {**ref, "images": {"roll": "nginx:1.28"}}
    preview = await call(tool_env, "k8s_set_image", image, "preview")
    assert preview.ok, preview.text
    assert "+" in preview.text
    assert "nginx:1.28" in preview.text
    assert (await call(tool_env, "k8s_set_image", image)).ok
    verified = await call(tool_env, "k8s_set_image", image, "verify")
    assert verified.ok, verified.text
    assert verified.data.verdict == "verified"
    assert verified.text == "deployment/roll: 1 of 1 replicas updated, available and ready"

    restarted = await call(tool_env, "k8s_rollout_restart", ref)
    assert restarted.ok, restarted.text
    assert (await call(tool_env, "k8s_rollout_restart", ref, "verify")).ok

    assert (await call(tool_env, "k8s_rollout_undo", {**ref, "to_revision": 1}, "preview")).ok
    undone = await call(tool_env, "k8s_rollout_undo", {**ref, "to_revision": 1})
    assert undone.ok, undone.text
    assert (await call(tool_env, "k8s_rollout_undo", ref, "verify")).ok
    image_now = await call(
        tool_env,
        "k8s_get",
        {**ref, "jsonpath": "{.spec.template.spec.containers[0].image}"},
    )
    assert image_now.text.strip() == "nginx:1.27"


async def test_patch_and_annotate_previews_show_the_change(tool_env: ToolEnv) -> None:
    await _fresh_deployment(tool_env, "edit")
    patch = {
        "resource": "deployment/edit",
        "namespace": NAMESPACE,
        "patch": '{"spec": {"minReadySeconds": 7}}',
        "patch_type": "merge",
    }
    preview = await call(tool_env, "k8s_patch", patch, "preview")
    assert preview.ok, preview.text
    assert "+  minReadySeconds: 7" in preview.text
    assert (await call(tool_env, "k8s_patch", patch)).ok
    assert (await call(tool_env, "k8s_patch", patch, "verify")).data.verdict == "verified"
    read = {"resource": "deployment/edit", "namespace": NAMESPACE, "output": "yaml"}
    assert "minReadySeconds: 7" in (await call(tool_env, "k8s_get", read)).text

    note = {
        "resource": "deployment",
        "name": "edit",
        "namespace": NAMESPACE,
        "annotations": {"example.com/reason": "load test"},
    }
    preview = await call(tool_env, "k8s_annotate", note, "preview")
    assert "example.com/reason: load test" in preview.text
    assert (await call(tool_env, "k8s_annotate", note)).ok


async def test_node_previews_change_nothing(tool_env: ToolEnv) -> None:
    node = {"node": "sandbox-worker-2"}
    assert (await call(tool_env, "k8s_cordon", node, "preview")).ok
    # The verify of a cordon that never ran finds the node still schedulable.
    shown = await call(tool_env, "k8s_cordon", node, "verify")
    assert not shown.ok
    assert shown.data.summary == "node 'sandbox-worker-2' is schedulable"
    drain = await call(tool_env, "k8s_drain", {**node, "timeout_s": 20}, "preview")
    assert drain.ok, drain.text


async def test_run_pod_preview_renders_the_pod(tool_env: ToolEnv) -> None:
    assert (await call(tool_env, "k8s_apply", {"manifest": NAMESPACE_MANIFEST})).ok
    args = {
        "name": "dbg",
        "image": "busybox:1.36",
        "namespace": NAMESPACE,
        "command": ["sleep", "5"],
    }
    output = await call(tool_env, "k8s_run_pod", args, "preview")
    assert output.ok, output.text
    assert "busybox:1.36" in output.text
    assert "sleep" in output.text
    missing = await call(tool_env, "k8s_get", {"resource": "pod/dbg", "namespace": NAMESPACE})
    assert not missing.ok


async def test_get_with_a_jsonpath_filter_lists_the_running_pods(
    tool_env: ToolEnv, sandbox: SandboxInfo
) -> None:
    template = '{.items[?(@.status.phase=="Running")].metadata.name}'
    output = await call(
        tool_env, "k8s_get", {"resource": "pods", "namespace": "shop", "jsonpath": template}
    )
    assert output.ok, output.text
    pods = get_json(sandbox, "pods", "-n", "shop")["items"]
    running = {p["metadata"]["name"] for p in pods if p["status"].get("phase") == "Running"}
    assert running
    assert set(output.text.split()) == running


async def test_get_with_quoted_literals_and_escaped_keys(tool_env: ToolEnv) -> None:
    template = (
        '{range .items[*]}{.metadata.name}{"\\t"}'
        '{.metadata.annotations.deployment\\.kubernetes\\.io/revision}{"\\n"}{end}'
    )
    output = await call(
        tool_env, "k8s_get", {"resource": "deployments", "namespace": "shop", "jsonpath": template}
    )
    assert output.ok, output.text
    rows = dict(line.split("\t") for line in output.text.strip().splitlines())
    assert set(rows) >= {"frontend", "api", "worker"}
    assert all(revision.isdigit() for revision in rows.values())


def _serves(sandbox: SandboxInfo, group: str, resource: str) -> bool:
    listed = run_kubectl(sandbox, "api-resources", f"--api-group={group}", "--output=name")
    return listed.returncode == 0 and resource in listed.stdout.split()


async def test_rbac_objects_with_system_names_apply_and_read_back(
    tool_env: ToolEnv, sandbox: SandboxInfo
) -> None:
    if not _serves(sandbox, "rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io"):
        pytest.skip("the sandbox does not serve ClusterRole (rbac.authorization.k8s.io/v1) yet")
    # In the shape of the built-in aggregated role `system:aggregate-to-view`.
    name = "system:opsgate-test-aggregate-to-view"
    manifest = f"""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: "{name}"
  labels: {{rbac.authorization.k8s.io/aggregate-to-view: "true"}}
rules:
- apiGroups: [""]
  resources: [configmaps, endpoints, persistentvolumeclaims]
  verbs: [get, list, watch]
"""
    applied = await call(tool_env, "k8s_apply", {"manifest": manifest})
    assert applied.ok, applied.text
    got = await call(
        tool_env,
        "k8s_get",
        {"resource": "clusterrole", "name": name, "jsonpath": "{.rules[0].verbs}"},
    )
    assert got.ok, got.text
    assert "watch" in got.text
    described = await call(tool_env, "k8s_describe", {"resource": f"clusterroles/{name}"})
    assert described.ok, described.text
    assert name in described.text


async def test_auth_can_i_as_a_service_account_answers_per_its_role_binding(
    tool_env: ToolEnv, sandbox: SandboxInfo, namespace: str
) -> None:
    if not _serves(sandbox, "rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io"):
        pytest.skip("the sandbox does not serve Role/RoleBinding (rbac.authorization.k8s.io) yet")
    # In the shape of the Kubernetes docs' `pod-reader` Role bound to a ServiceAccount.
    rbac = f"""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: config-reader, namespace: {namespace}}}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: read-config, namespace: {namespace}}}
subjects:
- kind: ServiceAccount
  name: default
  namespace: {namespace}
roleRef: {{kind: Role, name: config-reader, apiGroup: rbac.authorization.k8s.io}}
"""
    applied = run_kubectl(sandbox, "apply", "-f", "-", stdin=rbac)
    assert applied.returncode == 0, applied.stderr
    subject = {
        "namespace": namespace,
        "as": f"system:serviceaccount:{namespace}:default",
        "as_groups": ["system:serviceaccounts", "system:authenticated"],
    }
    allowed = await call(
        tool_env, "k8s_auth_can_i", {**subject, "verb": "list", "resource": "configmaps"}
    )
    assert (allowed.ok, allowed.text) == (True, "yes")
    denied = await call(
        tool_env, "k8s_auth_can_i", {**subject, "verb": "delete", "resource": "secrets"}
    )
    assert (denied.ok, denied.text) == (True, "no")
    listed = await call(tool_env, "k8s_auth_can_i", {**subject, "list_all": True})
    assert listed.ok, listed.text
    assert "configmaps" in listed.text
    assert f"--as=system:serviceaccount:{namespace}:default" in (listed.command or "")


async def test_auth_can_i_answers_for_an_impersonated_user_without_rbac_objects(
    tool_env: ToolEnv,
) -> None:
    args = {"verb": "get", "resource": "pods", "namespace": "shop", "as": "jane@example.com"}
    output = await call(tool_env, "k8s_auth_can_i", args)
    assert output.ok, output.text
    assert output.text in ("yes", "no")
    listed = await call(tool_env, "k8s_auth_can_i", {"list_all": True, "namespace": "shop"})
    assert listed.ok, listed.text
    assert listed.text.split()[0] == "Resources"
