"""Every write path honours `dryRun`: the answer of the real request, and nothing changed.

Each test takes a `snapshot` (the resourceVersion of every object of every kind, the store's
revision, the served resource types) of the quiet sandbox, whose clock moves only with writes,
before and after one dry-run request: real kubectl with `--dry-run=server` where kubectl can
send it, plain HTTP otherwise.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl, snapshot

pytestmark = pytest.mark.sandbox
T = TypeVar("T")
CLOSE = {"Connection": "close"}


def unchanged(sandbox: SandboxInfo, action: Callable[[], T]) -> T:
    """Run `action` and assert that it changed nothing in the sandbox."""
    before = snapshot(sandbox)
    result = action()
    assert before.changes(snapshot(sandbox)) == []
    return result


def _ok(result: Any) -> str:
    assert result.returncode == 0, result.stderr
    text: str = result.stdout
    return text


def _deploy(sandbox: SandboxInfo, namespace: str, name: str = "web", replicas: int = 2) -> None:
    manifest = deployment_manifest(name, namespace, "nginx:1.27", replicas)
    _ok(kubectl(sandbox, "apply", "-f", "-", stdin=manifest))


def _http(sandbox: SandboxInfo, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {**CLOSE, **kwargs.pop("headers", {})}
    return httpx.request(method, sandbox.api_url + path, headers=headers, timeout=10, **kwargs)


def test_create_answers_the_new_object_and_keeps_nothing(
    quiet_sandbox: SandboxInfo, quiet_namespace: str
) -> None:
    ns = quiet_namespace
    made = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox,
            "create",
            "configmap",
            "cfg",
            "-n",
            ns,
            "--from-literal=a=b",
            "--dry-run=server",
            "-o",
            "json",
        ),
    )
    created = json.loads(_ok(made))
    assert created["data"] == {"a": "b"}
    assert created["metadata"]["uid"]
    assert "resourceVersion" not in created["metadata"]
    generated = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "once-", "namespace": ns},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox:1.36"}],
                }
            }
        },
    }
    job = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox,
            "create",
            "-f",
            "-",
            "--dry-run=server",
            "-o",
            "json",
            stdin=json.dumps(generated),
        ),
    )
    name = json.loads(_ok(job))["metadata"]["name"]
    assert name.startswith("once-")
    assert len(name) > len("once-")
    assert get_json(quiet_sandbox, "jobs,pods", "-n", ns)["items"] == []


def test_create_gives_the_real_errors(quiet_sandbox: SandboxInfo, quiet_namespace: str) -> None:
    ns = quiet_namespace
    _ok(kubectl(quiet_sandbox, "create", "configmap", "cfg", "-n", ns))
    again = unchanged(
        quiet_sandbox,
        lambda: kubectl(quiet_sandbox, "create", "configmap", "cfg", "-n", ns, "--dry-run=server"),
    )
    assert again.returncode != 0
    assert 'configmaps "cfg" already exists' in again.stderr
    nowhere = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox, "create", "configmap", "cfg", "-n", "no-such-ns", "--dry-run=server"
        ),
    )
    assert 'namespaces "no-such-ns" not found' in nowhere.stderr


def test_replace_answers_the_object_as_it_would_be(
    quiet_sandbox: SandboxInfo, quiet_namespace: str
) -> None:
    _deploy(quiet_sandbox, quiet_namespace)
    current = get_json(quiet_sandbox, "deployment", "web", "-n", quiet_namespace)
    bigger = deployment_manifest("web", quiet_namespace, "nginx:1.28", replicas=5)
    replaced = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox, "replace", "-f", "-", "--dry-run=server", "-o", "json", stdin=bigger
        ),
    )
    answer = json.loads(_ok(replaced))
    assert answer["spec"]["replicas"] == 5
    assert answer["status"] == current["status"]
    meta, before = answer["metadata"], current["metadata"]
    assert (meta["uid"], meta["resourceVersion"]) == (before["uid"], before["resourceVersion"])
    assert meta["generation"] == before["generation"] + 1
    stale = {**current, "spec": {**current["spec"], "replicas": 6}}
    stale["metadata"] = {**current["metadata"], "resourceVersion": "1"}
    conflict = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox, "replace", "-f", "-", "--dry-run=server", stdin=json.dumps(stale)
        ),
    )
    assert "the object has been modified" in conflict.stderr


@pytest.mark.parametrize(
    ("patch_type", "patch"),
    [
        (
            "strategic",
            '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"x:2"}]}}}}',
        ),
        ("merge", '{"spec":{"replicas":7}}'),
        ("json", '[{"op":"replace","path":"/spec/replicas","value":7}]'),
    ],
)
def test_patch_of_each_type_answers_the_patched_object(
    quiet_sandbox: SandboxInfo, quiet_namespace: str, patch_type: str, patch: str
) -> None:
    _deploy(quiet_sandbox, quiet_namespace)
    patched = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox,
            "patch",
            "deployment",
            "web",
            "-n",
            quiet_namespace,
            f"--type={patch_type}",
            "-p",
            patch,
            "--dry-run=server",
            "-o",
            "json",
        ),
    )
    spec = json.loads(_ok(patched))["spec"]
    assert spec["replicas"] == 7 or spec["template"]["spec"]["containers"][0]["image"] == "x:2"
    missing = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox,
            "patch",
            "deployment",
            "gone",
            "-n",
            quiet_namespace,
            "--type=merge",
            "-p",
            "{}",
            "--dry-run=server",
        ),
    )
    assert 'deployments.apps "gone" not found' in missing.stderr


@pytest.mark.parametrize("flags", [[], ["--server-side"]], ids=["client-side", "server-side"])
def test_apply_of_new_and_changed_objects(
    quiet_sandbox: SandboxInfo, quiet_namespace: str, flags: list[str]
) -> None:
    _deploy(quiet_sandbox, quiet_namespace, "old")
    manifests = deployment_manifest("old", quiet_namespace, "nginx:1.29", 4)
    manifests += "---\n" + deployment_manifest("new", quiet_namespace, "nginx:1.29", 1)
    applied = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox, "apply", *flags, "--dry-run=server", "-f", "-", stdin=manifests
        ),
    )
    assert "(server dry run)" in _ok(applied)
    assert kubectl(quiet_sandbox, "get", "deployment", "new", "-n", quiet_namespace).returncode != 0


def test_delete_of_a_workload_and_of_a_namespace(
    quiet_sandbox: SandboxInfo, quiet_namespace: str
) -> None:
    _deploy(quiet_sandbox, quiet_namespace)
    deleted = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox, "delete", "deployment", "web", "-n", quiet_namespace, "--dry-run=server"
        ),
    )
    assert "(server dry run)" in _ok(deleted)
    gone = unchanged(
        quiet_sandbox,
        lambda: kubectl(quiet_sandbox, "delete", "namespace", quiet_namespace, "--dry-run=server"),
    )
    assert "(server dry run)" in _ok(gone)
    assert len(get_json(quiet_sandbox, "pods", "-n", quiet_namespace)["items"]) == 2


def _field(number: int, payload: bytes) -> bytes:
    return bytes([(number << 3) | 2, len(payload)]) + payload


@pytest.mark.parametrize("how", ["query", "json-body", "protobuf-body"])
def test_delete_collection(quiet_sandbox: SandboxInfo, quiet_namespace: str, how: str) -> None:
    for name in ("a", "b"):
        _ok(kubectl(quiet_sandbox, "create", "configmap", name, "-n", quiet_namespace))
    path = f"/api/v1/namespaces/{quiet_namespace}/configmaps"
    if how == "query":
        request: dict[str, Any] = {"params": {"dryRun": "All"}}
    elif how == "json-body":
        request = {"json": {"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]}}
    else:
        type_meta = _field(1, b"v1") + _field(2, b"DeleteOptions")
        body = b"k8s\x00" + _field(1, type_meta) + _field(2, _field(5, b"All"))
        headers = {**CLOSE, "Content-Type": "application/vnd.kubernetes.protobuf"}
        request = {"content": body, "headers": headers}
    response = unchanged(quiet_sandbox, lambda: _http(quiet_sandbox, "DELETE", path, **request))
    assert response.status_code == 200, response.text
    names = {item["metadata"]["name"] for item in response.json()["items"]}
    assert {"a", "b"} <= names


def test_drain_evicts_nothing(quiet_sandbox: SandboxInfo, quiet_namespace: str) -> None:
    _deploy(quiet_sandbox, quiet_namespace, replicas=4)
    drained = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox, "drain", "sandbox-worker-1", "--ignore-daemonsets", "--dry-run=server"
        ),
    )
    text = _ok(drained)
    assert "cordoned (server dry run)" in text
    assert f"evicting pod {quiet_namespace}/web-" in text
    assert "drained (server dry run)" in text
    node = get_json(quiet_sandbox, "node", "sandbox-worker-1")
    assert not node["spec"].get("unschedulable")


def test_eviction_by_query_parameter_and_of_a_missing_pod(
    quiet_sandbox: SandboxInfo, quiet_namespace: str
) -> None:
    _deploy(quiet_sandbox, quiet_namespace, replicas=1)
    pod = get_json(quiet_sandbox, "pods", "-n", quiet_namespace)["items"][0]["metadata"]["name"]
    base = f"/api/v1/namespaces/{quiet_namespace}/pods"
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod}}
    evicted = unchanged(
        quiet_sandbox,
        lambda: _http(
            quiet_sandbox, "POST", f"{base}/{pod}/eviction", params={"dryRun": "All"}, json=eviction
        ),
    )
    assert evicted.status_code == 201, evicted.text
    missing = unchanged(
        quiet_sandbox,
        lambda: _http(
            quiet_sandbox,
            "POST",
            f"{base}/nope/eviction",
            json={**eviction, "deleteOptions": {"dryRun": ["All"]}},
        ),
    )
    assert missing.status_code == 404


def test_scale_by_kubectl_and_by_put(quiet_sandbox: SandboxInfo, quiet_namespace: str) -> None:
    _deploy(quiet_sandbox, quiet_namespace)
    scaled = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox,
            "scale",
            "deployment/web",
            "-n",
            quiet_namespace,
            "--replicas=9",
            "--dry-run=server",
        ),
    )
    assert "scaled (server dry run)" in _ok(scaled)
    path = f"/apis/apps/v1/namespaces/{quiet_namespace}/deployments/web/scale"
    current = _http(quiet_sandbox, "GET", path).json()
    put = unchanged(
        quiet_sandbox,
        lambda: _http(
            quiet_sandbox,
            "PUT",
            path,
            params={"dryRun": "All"},
            json={**current, "spec": {"replicas": 9}},
        ),
    )
    assert put.status_code == 200, put.text
    assert put.json()["spec"]["replicas"] == 9
    negative = unchanged(
        quiet_sandbox,
        lambda: _http(
            quiet_sandbox, "PUT", path, params={"dryRun": "All"}, json={"spec": {"replicas": -1}}
        ),
    )
    assert negative.status_code == 422


def test_status_and_finalize_subresources(quiet_sandbox: SandboxInfo, quiet_namespace: str) -> None:
    _deploy(quiet_sandbox, quiet_namespace)
    patched = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox,
            "patch",
            "deployment",
            "web",
            "-n",
            quiet_namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"readyReplicas":0}}',
            "--dry-run=server",
            "-o",
            "json",
        ),
    )
    answer = json.loads(_ok(patched))["status"]
    assert (answer["readyReplicas"], answer["replicas"]) == (0, 2)
    path = f"/apis/apps/v1/namespaces/{quiet_namespace}/deployments/web/status"
    current = _http(quiet_sandbox, "GET", path).json()
    put = unchanged(
        quiet_sandbox,
        lambda: _http(
            quiet_sandbox,
            "PUT",
            path,
            params={"dryRun": "All"},
            json={**current, "status": {"replicas": 0}},
        ),
    )
    assert put.json()["status"] == {"replicas": 0}
    _ok(kubectl(quiet_sandbox, "label", "namespace", quiet_namespace, "team=shop"))
    namespace = _http(quiet_sandbox, "GET", f"/api/v1/namespaces/{quiet_namespace}").json()
    finalized = unchanged(
        quiet_sandbox,
        lambda: _http(
            quiet_sandbox,
            "PUT",
            f"/api/v1/namespaces/{quiet_namespace}/finalize",
            params={"dryRun": "All"},
            json={**namespace, "spec": {"finalizers": []}, "metadata": {"name": quiet_namespace}},
        ),
    )
    assert finalized.status_code == 200, finalized.text
    assert finalized.json()["spec"]["finalizers"] == []
    # Only the finalizers change: the labels the body left out stay.
    assert finalized.json()["metadata"]["labels"]["team"] == "shop"


@pytest.mark.parametrize(
    "argv",
    [
        ["set", "image", "deployment/web", "web=nginx:1.30"],
        ["set", "env", "deployment/web", "MODE=fast"],
        ["label", "deployment", "web", "team=shop"],
        ["annotate", "deployment", "web", "owner=alice"],
        ["rollout", "undo", "deployment/web"],
        ["run", "debug", "--image=busybox:1.36"],
        ["expose", "deployment", "web", "--port=80"],
    ],
    ids=lambda argv: "-".join(argv[:2]),
)
def test_kubectl_commands_that_change_workloads(
    quiet_sandbox: SandboxInfo, quiet_namespace: str, argv: list[str]
) -> None:
    _deploy(quiet_sandbox, quiet_namespace)
    _ok(
        kubectl(
            quiet_sandbox, "set", "image", "deployment/web", "web=nginx:1.28", "-n", quiet_namespace
        )
    )
    done = unchanged(
        quiet_sandbox,
        lambda: kubectl(quiet_sandbox, *argv, "-n", quiet_namespace, "--dry-run=server"),
    )
    assert "(server dry run)" in _ok(done)


@pytest.mark.parametrize(
    "argv",
    [
        ["cordon", "sandbox-worker-2"],
        ["taint", "node", "sandbox-worker-2", "dedicated=db:NoSchedule"],
        ["label", "node", "sandbox-worker-2", "disk=ssd"],
    ],
    ids=["cordon", "taint", "label"],
)
def test_kubectl_commands_that_change_nodes(quiet_sandbox: SandboxInfo, argv: list[str]) -> None:
    _ok(unchanged(quiet_sandbox, lambda: kubectl(quiet_sandbox, *argv, "--dry-run=server")))


def test_argo_rollout_spec_status_and_scale(quiet_sandbox: SandboxInfo) -> None:
    rollout = ["rollouts.argoproj.io", "checkout", "-n", "shop"]
    for extra in (
        ["--type=merge", "-p", '{"spec":{"paused":true}}'],
        ["--subresource=status", "--type=merge", "-p", '{"status":{"abort":true}}'],
    ):
        patched = unchanged(
            quiet_sandbox,
            functools.partial(
                kubectl, quiet_sandbox, "patch", *rollout, *extra, "--dry-run=server"
            ),
        )
        _ok(patched)
    scaled = unchanged(
        quiet_sandbox,
        lambda: kubectl(
            quiet_sandbox,
            "scale",
            "rollout/checkout",
            "-n",
            "shop",
            "--replicas=1",
            "--dry-run=server",
        ),
    )
    assert "(server dry run)" in _ok(scaled)


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}
"""


def test_a_custom_resource_definition_serves_nothing_new(quiet_sandbox: SandboxInfo) -> None:
    applied = unchanged(
        quiet_sandbox,
        lambda: kubectl(quiet_sandbox, "apply", "--dry-run=server", "-f", "-", stdin=CRD),
    )
    assert "(server dry run)" in _ok(applied)
    assert "gadgets" not in kubectl(quiet_sandbox, "api-resources").stdout


def test_an_unknown_dry_run_value_is_refused(
    quiet_sandbox: SandboxInfo, quiet_namespace: str
) -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}}
    path = f"/api/v1/namespaces/{quiet_namespace}/configmaps"
    refused = unchanged(
        quiet_sandbox,
        lambda: _http(quiet_sandbox, "POST", path, params={"dryRun": "Yes"}, json=config),
    )
    assert refused.status_code == 400
    assert 'Unsupported value: "Yes"' in refused.json()["message"]


def test_writes_to_unknown_subresources_and_read_only_groups_are_refused(
    quiet_sandbox: SandboxInfo, quiet_namespace: str
) -> None:
    _deploy(quiet_sandbox, quiet_namespace)
    path = f"/apis/apps/v1/namespaces/{quiet_namespace}/deployments/web"
    current = _http(quiet_sandbox, "GET", path).json()
    for method in ("PUT", "PATCH"):
        bogus = unchanged(
            quiet_sandbox,
            functools.partial(
                _http,
                quiet_sandbox,
                method,
                f"{path}/bogus",
                json={**current, "spec": {**current["spec"], "replicas": 0}},
                headers={"Content-Type": "application/merge-patch+json"},
            ),
        )
        assert bogus.status_code == 404
    event = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"}}
    refused = unchanged(
        quiet_sandbox,
        lambda: _http(
            quiet_sandbox,
            "POST",
            f"/apis/events.k8s.io/v1/namespaces/{quiet_namespace}/events",
            params={"dryRun": "All"},
            json=event,
        ),
    )
    assert refused.status_code == 405
    review = unchanged(
        quiet_sandbox,
        lambda: kubectl(quiet_sandbox, "auth", "can-i", "delete", "pods", "-n", quiet_namespace),
    )
    assert _ok(review).strip() == "yes"
