"""Fidelity: kubectl commands that change objects, checked by reading the state back."""

from __future__ import annotations

import base64
import json

import pytest

from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl

pytestmark = pytest.mark.sandbox


def _apply(sandbox: SandboxInfo, manifest: str, *flags: str) -> None:
    result = kubectl(sandbox, "apply", "-f", "-", *flags, stdin=manifest)
    assert result.returncode == 0, result.stderr


def test_create_namespace_configmap_secret_from_protobuf_bodies(
    sandbox: SandboxInfo, namespace: str
) -> None:
    assert get_json(sandbox, "namespace", namespace)["status"]["phase"] == "Active"
    assert (
        kubectl(
            sandbox, "create", "configmap", "settings", "-n", namespace, "--from-literal=mode=fast"
        ).returncode
        == 0
    )
    made = kubectl(
        sandbox, "create", "secret", "generic", "creds", "-n", namespace, "--from-literal=token=abc"
    )
    assert made.returncode == 0, made.stderr
    assert get_json(sandbox, "configmap", "settings", "-n", namespace)["data"] == {"mode": "fast"}
    secret = get_json(sandbox, "secret", "creds", "-n", namespace)
    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"]["token"]) == b"abc"


def test_apply_creates_then_reports_unchanged(sandbox: SandboxInfo, namespace: str) -> None:
    manifest = deployment_manifest("web", namespace, "nginx:1.27")
    _apply(sandbox, manifest)
    again = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
    assert "unchanged" in again.stdout
    deploy = get_json(sandbox, "deployment", "web", "-n", namespace)
    assert deploy["status"]["readyReplicas"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in deploy["metadata"]["annotations"]


def test_server_side_apply_records_field_manager(sandbox: SandboxInfo, namespace: str) -> None:
    _apply(
        sandbox, deployment_manifest("ssa", namespace, "nginx:1.27", replicas=1), "--server-side"
    )
    _apply(
        sandbox, deployment_manifest("ssa", namespace, "nginx:1.28", replicas=3), "--server-side"
    )
    deploy = get_json(sandbox, "deployment", "ssa", "-n", namespace, "--show-managed-fields")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert "kubectl" in {m["manager"] for m in deploy["metadata"]["managedFields"]}
    single = deployment_manifest("ssa", namespace, "nginx:1.28", replicas=3).split(
        "      - name: sidecar"
    )[0]
    _apply(sandbox, single, "--server-side")
    containers = get_json(sandbox, "deployment", "ssa", "-n", namespace)["spec"]["template"][
        "spec"
    ]["containers"]
    assert [c["name"] for c in containers] == ["ssa"]


def test_server_dry_run_and_diff_change_nothing(sandbox: SandboxInfo, namespace: str) -> None:
    _apply(sandbox, deployment_manifest("dry", namespace, "nginx:1.27"))
    bigger = deployment_manifest("dry", namespace, "nginx:1.27", replicas=5)
    dry = kubectl(sandbox, "apply", "--dry-run=server", "-f", "-", stdin=bigger)
    assert "server dry run" in dry.stdout
    diff = kubectl(sandbox, "diff", "-f", "-", stdin=bigger)
    assert diff.returncode == 1
    assert "+  replicas: 5" in diff.stdout
    assert get_json(sandbox, "deployment", "dry", "-n", namespace)["spec"]["replicas"] == 2
    created = kubectl(sandbox, "create", "configmap", "ghost", "-n", namespace, "--dry-run=server")
    assert created.returncode == 0
    assert kubectl(sandbox, "get", "configmap", "ghost", "-n", namespace).returncode != 0


def test_strategic_merge_patch_merges_containers_by_name(
    sandbox: SandboxInfo, namespace: str
) -> None:
    _apply(sandbox, deployment_manifest("smp", namespace, "nginx:1.27"))
    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"smp","image":"nginx:1.29"}]}}}}'
    assert (
        kubectl(sandbox, "patch", "deployment", "smp", "-n", namespace, "-p", patch).returncode == 0
    )
    containers = get_json(sandbox, "deployment", "smp", "-n", namespace)["spec"]["template"][
        "spec"
    ]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("smp", "nginx:1.29"),
        ("sidecar", "busybox:1.36"),
    ]


_TWO_PORTS = """
apiVersion: v1
kind: Service
metadata:
  name: two-ports
spec:
  selector: {app: two-ports}
  ports:
  - {name: http, port: 9898, targetPort: http}
  - {name: grpc, port: 9999, targetPort: grpc}
"""


@pytest.mark.parametrize("mode", ["--server-side", "--server-side=false"])
def test_reapplying_a_service_keeps_its_ports_apart(
    sandbox: SandboxInfo, namespace: str, mode: str
) -> None:
    # A Service's ports merge by `port` (a container's by containerPort): helm upgrade reapplies
    # podinfo's two-port Service this way and must not see "Duplicate value".
    _apply(sandbox, _TWO_PORTS, "-n", namespace, mode)
    _apply(
        sandbox, _TWO_PORTS.replace("targetPort: grpc", "targetPort: 9000"), "-n", namespace, mode
    )
    ports = get_json(sandbox, "service", "two-ports", "-n", namespace)["spec"]["ports"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in ports] == [
        ("http", 9898, "http"),
        ("grpc", 9999, 9000),
    ]


def test_merge_and_json_patches(sandbox: SandboxInfo, namespace: str) -> None:
    _apply(sandbox, deployment_manifest("mp", namespace, "nginx:1.27"))
    merge = kubectl(
        sandbox,
        "patch",
        "deploy",
        "mp",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"metadata":{"labels":{"tier":"web"}}}',
    )
    assert merge.returncode == 0, merge.stderr
    ops = '[{"op":"replace","path":"/spec/replicas","value":4}]'
    assert (
        kubectl(
            sandbox, "patch", "deploy", "mp", "-n", namespace, "--type=json", "-p", ops
        ).returncode
        == 0
    )
    deploy = get_json(sandbox, "deployment", "mp", "-n", namespace)
    assert deploy["metadata"]["labels"]["tier"] == "web"
    assert deploy["spec"]["replicas"] == 4
    assert deploy["status"]["replicas"] == 4
    bad = kubectl(
        sandbox,
        "patch",
        "deploy",
        "mp",
        "-n",
        namespace,
        "--type=json",
        "-p",
        '[{"op":"test","path":"/spec/replicas","value":9}]',
    )
    assert bad.returncode != 0


def test_label_annotate_set_image_scale(sandbox: SandboxInfo, namespace: str) -> None:
    _apply(sandbox, deployment_manifest("ops", namespace, "nginx:1.27"))
    assert (
        kubectl(sandbox, "label", "deploy", "ops", "-n", namespace, "team=payments").returncode == 0
    )
    assert (
        kubectl(sandbox, "annotate", "deploy", "ops", "-n", namespace, "owner=alice").returncode
        == 0
    )
    assert (
        kubectl(sandbox, "set", "image", "deploy/ops", "-n", namespace, "ops=nginx:1.28").returncode
        == 0
    )
    assert kubectl(sandbox, "scale", "deploy/ops", "-n", namespace, "--replicas=3").returncode == 0
    deploy = get_json(sandbox, "deployment", "ops", "-n", namespace)
    assert deploy["metadata"]["labels"]["team"] == "payments"
    assert deploy["metadata"]["annotations"]["owner"] == "alice"
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deploy["spec"]["replicas"] == 3
    pods = get_json(sandbox, "pods", "-n", namespace, "-l", "app=ops")["items"]
    assert len(pods) == 3
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:1.28"}


def test_replace_writes_the_whole_object(sandbox: SandboxInfo, namespace: str) -> None:
    _apply(sandbox, deployment_manifest("rep", namespace, "nginx:1.27"))
    replaced = kubectl(
        sandbox,
        "replace",
        "-f",
        "-",
        stdin=deployment_manifest("rep", namespace, "nginx:1.30", replicas=1),
    )
    assert replaced.returncode == 0, replaced.stderr
    deploy = get_json(sandbox, "deployment", "rep", "-n", namespace)
    assert (
        deploy["spec"]["replicas"],
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
    ) == (1, "nginx:1.30")


def test_delete_cascades_through_owner_references(sandbox: SandboxInfo, namespace: str) -> None:
    _apply(sandbox, deployment_manifest("gone", namespace, "nginx:1.27"))
    assert len(get_json(sandbox, "pods", "-n", namespace)["items"]) == 2
    deleted = kubectl(sandbox, "delete", "deployment", "gone", "-n", namespace)
    assert deleted.returncode == 0, deleted.stderr
    assert get_json(sandbox, "replicasets", "-n", namespace)["items"] == []
    assert get_json(sandbox, "pods", "-n", namespace)["items"] == []


def test_delete_with_orphan_keeps_replicasets(sandbox: SandboxInfo, namespace: str) -> None:
    _apply(sandbox, deployment_manifest("orphan", namespace, "nginx:1.27"))
    assert (
        kubectl(
            sandbox, "delete", "deployment", "orphan", "-n", namespace, "--cascade=orphan"
        ).returncode
        == 0
    )
    replicasets = get_json(sandbox, "replicasets", "-n", namespace)["items"]
    assert len(replicasets) == 1
    assert not replicasets[0]["metadata"].get("ownerReferences")
    assert len(get_json(sandbox, "pods", "-n", namespace)["items"]) == 2


def test_deleting_a_pod_makes_the_replicaset_replace_it(
    sandbox: SandboxInfo, namespace: str
) -> None:
    _apply(sandbox, deployment_manifest("heal", namespace, "nginx:1.27", replicas=1))
    before = get_json(sandbox, "pods", "-n", namespace)["items"][0]["metadata"]["name"]
    assert kubectl(sandbox, "delete", "pod", before, "-n", namespace).returncode == 0
    after = [p["metadata"]["name"] for p in get_json(sandbox, "pods", "-n", namespace)["items"]]
    assert len(after) == 1
    assert after[0] != before


def test_create_in_missing_namespace_fails(sandbox: SandboxInfo) -> None:
    result = kubectl(sandbox, "create", "configmap", "x", "-n", "does-not-exist")
    assert result.returncode != 0
    assert 'namespaces "does-not-exist" not found' in result.stderr


def test_create_deployment_service_job_from_protobuf_bodies(
    sandbox: SandboxInfo, namespace: str
) -> None:
    made = kubectl(
        sandbox,
        "create",
        "deployment",
        "made",
        "--image=nginx:1.27",
        "--replicas=2",
        "-n",
        namespace,
    )
    assert made.returncode == 0, made.stderr
    assert (
        kubectl(
            sandbox, "create", "service", "nodeport", "made", "--tcp=80:8080", "-n", namespace
        ).returncode
        == 0
    )
    job = kubectl(
        sandbox,
        "create",
        "job",
        "once",
        "--image=busybox:1.36",
        "-n",
        namespace,
        "--",
        "echo",
        "hi",
    )
    assert job.returncode == 0, job.stderr
    assert get_json(sandbox, "deployment", "made", "-n", namespace)["status"]["readyReplicas"] == 2
    spec = get_json(sandbox, "service", "made", "-n", namespace)["spec"]
    port = spec["ports"][0]
    assert (spec["type"], port["port"], port["targetPort"]) == ("NodePort", 80, 8080)
    assert 30000 <= port["nodePort"] <= 32767
    done = get_json(sandbox, "job", "once", "-n", namespace)
    assert done["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]
    assert done["status"]["succeeded"] == 1
    assert {c["type"] for c in done["status"]["conditions"]} >= {"Complete"}
    logs = kubectl(sandbox, "logs", "job/once", "-n", namespace)
    assert logs.stdout == "hi\n"  # what `echo hi` printed


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""


def test_custom_resource_definition_serves_a_new_kind(sandbox: SandboxInfo, namespace: str) -> None:
    assert kubectl(sandbox, "apply", "-f", "-", stdin=CRD).returncode == 0
    widget = (
        "apiVersion: example.com/v1\nkind: Widget\n"
        f"metadata: {{name: w1, namespace: {namespace}}}\nspec: {{size: 3}}\n"
    )
    created = kubectl(sandbox, "apply", "-f", "-", stdin=widget)
    assert created.returncode == 0, created.stderr
    changed = kubectl(sandbox, "apply", "-f", "-", stdin=widget.replace("size: 3", "size: 4"))
    assert changed.returncode == 0, changed.stderr
    assert get_json(sandbox, "wdg", "w1", "-n", namespace)["spec"] == {"size": 4}
    assert "w1" in kubectl(sandbox, "get", "widgets", "-n", namespace).stdout


def test_statefulset_and_daemonset_get_pods(sandbox: SandboxInfo, namespace: str) -> None:
    template = {
        "metadata": {"labels": {"app": "db"}},
        # postgres exits at once without a password, as the real image does.
        "spec": {
            "containers": [
                {
                    "name": "db",
                    "image": "postgres:16",
                    "env": [{"name": "POSTGRES_PASSWORD", "value": "example"}],
                }
            ]
        },
    }
    for kind, extra in (("StatefulSet", {"replicas": 2, "serviceName": "db"}), ("DaemonSet", {})):
        body = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": f"db-{kind.lower()}", "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": "db"}}, "template": template, **extra},
        }
        result = kubectl(sandbox, "apply", "-f", "-", stdin=json.dumps(body))
        assert result.returncode == 0, result.stderr
    names = {p["metadata"]["name"] for p in get_json(sandbox, "pods", "-n", namespace)["items"]}
    assert {"db-statefulset-0", "db-statefulset-1"} <= names
    assert len([n for n in names if n.startswith("db-daemonset-")]) == 3
    assert (
        get_json(sandbox, "statefulset", "db-statefulset", "-n", namespace)["status"][
            "readyReplicas"
        ]
        == 2
    )
    assert (
        get_json(sandbox, "daemonset", "db-daemonset", "-n", namespace)["status"]["numberReady"]
        == 3
    )
