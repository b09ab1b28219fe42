"""Fidelity: pods and rollouts fail as on a real cluster, read back with the real kubectl.

Missing Secrets and ConfigMaps (env, envFrom, volumes), bad images and crash loops give the
kubelet's states, messages and events; a Deployment whose new pods cannot start keeps its old
pods serving until its progress deadline passes; creating what was missing lets it recover.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.fixtures.sandbox import SandboxInfo, eventually, get_json, kubectl

pytestmark = pytest.mark.sandbox


def _apply(sandbox: SandboxInfo, body: dict[str, Any]) -> None:
    result = kubectl(sandbox, "apply", "-f", "-", stdin=json.dumps(body))
    assert result.returncode == 0, result.stderr


def _pod(namespace: str, name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27", **container}], **spec},
    }


def _state(sandbox: SandboxInfo, namespace: str, pod: str) -> dict[str, Any]:
    found: dict[str, Any] = get_json(sandbox, "pod", pod, "-n", namespace)["status"]
    return found


def _waiting(sandbox: SandboxInfo, namespace: str, pod: str) -> dict[str, Any]:
    waiting: dict[str, Any] = _state(sandbox, namespace, pod)["containerStatuses"][0]["state"].get(
        "waiting", {}
    )
    return waiting


def _events(sandbox: SandboxInfo, namespace: str, pod: str) -> list[dict[str, Any]]:
    """The pod's events as `kubectl get events --field-selector involvedObject.name=` lists them."""
    found = get_json(
        sandbox, "events", "-n", namespace, "--field-selector", f"involvedObject.name={pod}"
    )
    items: list[dict[str, Any]] = found["items"]
    return items


def _warnings(sandbox: SandboxInfo, namespace: str, pod: str) -> set[tuple[str, str]]:
    return {
        (e["reason"], e["message"])
        for e in _events(sandbox, namespace, pod)
        if e["type"] == "Warning"
    }


def _running_and_ready(sandbox: SandboxInfo, namespace: str, pod: str) -> bool:
    status = _state(sandbox, namespace, pod)
    ready = {c["type"]: c["status"] for c in status["conditions"]}.get("Ready")
    return status["phase"] == "Running" and ready == "True"


def test_env_from_a_missing_secret_holds_the_pod_until_the_secret_and_key_exist(
    sandbox: SandboxInfo, namespace: str
) -> None:
    ref = {"secretKeyRef": {"name": "api-db", "key": "password"}}
    _apply(sandbox, _pod(namespace, "api", {"env": [{"name": "DB_PASSWORD", "valueFrom": ref}]}))
    status = _state(sandbox, namespace, "api")
    assert status["phase"] == "Pending"
    container = status["containerStatuses"][0]
    assert container["ready"] is False
    assert container["state"]["waiting"] == {
        "reason": "CreateContainerConfigError",
        "message": 'secret "api-db" not found',
    }
    assert ("Failed", 'Error: secret "api-db" not found') in _warnings(sandbox, namespace, "api")
    table = kubectl(sandbox, "get", "pod", "api", "-n", namespace).stdout
    assert "CreateContainerConfigError" in table
    described = kubectl(sandbox, "describe", "pod", "api", "-n", namespace).stdout
    assert "CreateContainerConfigError" in described
    assert 'Error: secret "api-db" not found' in described.split("Events:", 1)[1]

    made = kubectl(
        sandbox, "create", "secret", "generic", "api-db", "-n", namespace, "--from-literal=user=a"
    )
    assert made.returncode == 0, made.stderr
    wrong_key = f"couldn't find key password in Secret {namespace}/api-db"
    assert _waiting(sandbox, namespace, "api")["message"] == wrong_key
    assert ("Failed", f"Error: {wrong_key}") in _warnings(sandbox, namespace, "api")

    patched = kubectl(
        sandbox,
        "patch",
        "secret",
        "api-db",
        "-n",
        namespace,
        "-p",
        '{"stringData":{"password":"hunter2"}}',
    )
    assert patched.returncode == 0, patched.stderr
    assert _running_and_ready(sandbox, namespace, "api")
    reasons = {e["reason"] for e in _events(sandbox, namespace, "api")}
    assert {"Created", "Started"} <= reasons


@pytest.mark.parametrize(
    ("container", "message"),
    [
        (
            {
                "env": [
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "m"}}}
                ]
            },
            'configmap "cfg" not found',
        ),
        ({"envFrom": [{"secretRef": {"name": "creds"}}]}, 'secret "creds" not found'),
        ({"envFrom": [{"configMapRef": {"name": "cfg"}}]}, 'configmap "cfg" not found'),
    ],
    ids=["env-configmap", "envfrom-secret", "envfrom-configmap"],
)
def test_every_kind_of_missing_reference_is_a_create_container_config_error(
    sandbox: SandboxInfo, namespace: str, container: dict[str, Any], message: str
) -> None:
    _apply(sandbox, _pod(namespace, "app", container))
    assert _waiting(sandbox, namespace, "app") == {
        "reason": "CreateContainerConfigError",
        "message": message,
    }
    assert ("Failed", f"Error: {message}") in _warnings(sandbox, namespace, "app")


def test_optional_references_may_be_missing(sandbox: SandboxInfo, namespace: str) -> None:
    container = {
        "env": [
            {
                "name": "TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "nope", "key": "t", "optional": True}},
            }
        ],
        "envFrom": [{"configMapRef": {"name": "nope", "optional": True}}],
    }
    volume = {"name": "extra", "secret": {"secretName": "nope", "optional": True}}
    _apply(sandbox, _pod(namespace, "app", container, volumes=[volume]))
    assert _running_and_ready(sandbox, namespace, "app")
    assert _warnings(sandbox, namespace, "app") == set()


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        ({"secret": {"secretName": "api-db"}}, 'secret "api-db" not found'),
        ({"configMap": {"name": "api-db"}}, 'configmap "api-db" not found'),
    ],
    ids=["secret", "configmap"],
)
def test_a_missing_volume_source_keeps_the_pod_container_creating_until_it_exists(
    sandbox: SandboxInfo, namespace: str, volume: dict[str, Any], message: str
) -> None:
    mount = {"volumeMounts": [{"name": "creds", "mountPath": "/etc/creds"}]}
    _apply(sandbox, _pod(namespace, "app", mount, volumes=[{"name": "creds", **volume}]))
    status = _state(sandbox, namespace, "app")
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert "ContainerCreating" in kubectl(sandbox, "get", "pod", "app", "-n", namespace).stdout
    failed_mount = f'MountVolume.SetUp failed for volume "creds" : {message}'
    assert ("FailedMount", failed_mount) in _warnings(sandbox, namespace, "app")
    logs = kubectl(sandbox, "logs", "app", "-n", namespace)
    assert logs.returncode != 0
    assert "is waiting to start: ContainerCreating" in logs.stderr

    kind = "secret generic" if "secret" in volume else "configmap"
    made = kubectl(
        sandbox, "create", *kind.split(), "api-db", "-n", namespace, "--from-literal=a=b"
    )
    assert made.returncode == 0, made.stderr
    assert _running_and_ready(sandbox, namespace, "app")


def _reasons_seen(
    sandbox: SandboxInfo, namespace: str, pod: str, since: str, until: str
) -> list[str]:
    """The waiting reasons of the container, in order, in a watch from resourceVersion `since`."""
    params = {
        "watch": "true",
        "resourceVersion": since,
        "fieldSelector": f"metadata.name={pod}",
        "timeoutSeconds": "10",
    }
    seen: list[str] = []
    url = f"{sandbox.api_url}/api/v1/namespaces/{namespace}/pods"
    with httpx.stream("GET", url, params=params, timeout=15) as response:
        for line in response.iter_lines():
            statuses = json.loads(line)["object"].get("status", {}).get("containerStatuses", [])
            reason = statuses[0]["state"].get("waiting", {}).get("reason") if statuses else None
            if reason and (not seen or seen[-1] != reason):
                seen.append(reason)
            if reason == until:
                break
    return seen


def test_a_bad_image_goes_from_err_image_pull_to_image_pull_backoff_with_the_kubelet_events(
    sandbox: SandboxInfo, namespace: str
) -> None:
    since = get_json(sandbox, "pods", "-n", namespace)["metadata"]["resourceVersion"]
    image = "registry.example.com/shop/web:1.0-doesnotexist"
    assert kubectl(sandbox, "run", "web", "-n", namespace, f"--image={image}").returncode == 0
    assert _reasons_seen(sandbox, namespace, "web", since, "ImagePullBackOff") == [
        "ErrImagePull",
        "ImagePullBackOff",
    ]
    status = _state(sandbox, namespace, "web")
    assert status["phase"] == "Pending"
    waiting = status["containerStatuses"][0]["state"]["waiting"]
    assert waiting["message"] == f'Back-off pulling image "{image}"'
    events = {(e["type"], e["reason"], e["message"]) for e in _events(sandbox, namespace, "web")}
    assert {
        ("Normal", "Pulling", f'Pulling image "{image}"'),
        ("Warning", "Failed", "Error: ErrImagePull"),
        ("Normal", "BackOff", f'Back-off pulling image "{image}"'),
        ("Warning", "Failed", "Error: ImagePullBackOff"),
    } <= events
    pull_failures = [m for t, r, m in events if m.startswith(f'Failed to pull image "{image}": ')]
    assert len(pull_failures) == 1
    assert "not found" in pull_failures[0]
    logs = kubectl(sandbox, "logs", "web", "-n", namespace)
    assert "is waiting to start: trying and failing to pull image" in logs.stderr


def test_a_crash_loop_restarts_with_growing_back_off_and_keeps_its_last_state(
    sandbox: SandboxInfo, namespace: str
) -> None:
    crash = "--annotations=sandbox.opsgate.dev/behavior=CrashLoopBackOff"
    assert (
        kubectl(sandbox, "run", "loop", "-n", namespace, "--image=busybox:1.36", crash).returncode
        == 0
    )
    first = _state(sandbox, namespace, "loop")["containerStatuses"][0]
    assert first["restartCount"] == 1
    assert first["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert first["state"]["waiting"]["message"].startswith(
        "back-off 10s restarting failed container=loop"
    )
    assert first["lastState"]["terminated"]["exitCode"] == 1
    assert first["lastState"]["terminated"]["reason"] == "Error"
    assert first["ready"] is False

    def restarted() -> dict[str, Any] | None:
        now = _state(sandbox, namespace, "loop")["containerStatuses"][0]
        return now if now["restartCount"] >= 2 else None

    second = eventually(restarted, timeout=20, what="the second restart after a 10 s back-off")
    assert second["state"]["waiting"]["message"].startswith("back-off 20s")
    assert (
        second["lastState"]["terminated"]["finishedAt"]
        > first["lastState"]["terminated"]["finishedAt"]
    )
    back_off = [e for e in _events(sandbox, namespace, "loop") if e["reason"] == "BackOff"]
    assert [(e["type"], e["count"]) for e in back_off] == [("Warning", 2)]
    assert back_off[0]["message"].startswith(
        "Back-off restarting failed container loop in pod loop_"
    )
    table = kubectl(sandbox, "get", "pod", "loop", "-n", namespace).stdout
    assert "CrashLoopBackOff" in table
    assert "2 (" in table

    never = "--restart=Never"
    assert (
        kubectl(
            sandbox, "run", "once", "-n", namespace, "--image=busybox:1.36", crash, never
        ).returncode
        == 0
    )
    assert _state(sandbox, namespace, "once")["phase"] == "Failed"


def _deployment(namespace: str, replicas: int, deadline_s: int) -> dict[str, Any]:
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": deadline_s,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }


def _replicas_by_revision(sandbox: SandboxInfo, namespace: str) -> dict[str, tuple[int, int]]:
    found = get_json(sandbox, "replicasets", "-n", namespace, "-l", "app=web")["items"]
    return {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: (
            rs["spec"]["replicas"],
            rs["status"].get("readyReplicas", 0),
        )
        for rs in found
    }


def _progressing(sandbox: SandboxInfo, namespace: str) -> dict[str, Any]:
    conditions = get_json(sandbox, "deployment", "web", "-n", namespace)["status"]["conditions"]
    found: dict[str, Any] = next(c for c in conditions if c["type"] == "Progressing")
    return found


def test_a_rollout_whose_pods_cannot_start_keeps_the_old_pods_and_misses_its_deadline(
    sandbox: SandboxInfo, namespace: str
) -> None:
    _apply(sandbox, _deployment(namespace, replicas=4, deadline_s=2))
    env = '[{"name":"DB","valueFrom":{"secretKeyRef":{"name":"api-db","key":"password"}}}]'
    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":' + env + "}]}}}}"
    assert (
        kubectl(sandbox, "patch", "deployment", "web", "-n", namespace, "-p", patch).returncode == 0
    )

    # 25% of 4: one surge pod and one unavailable pod at most, so 3 old pods keep serving.
    assert _replicas_by_revision(sandbox, namespace) == {"1": (3, 3), "2": (2, 0)}
    status = get_json(sandbox, "deployment", "web", "-n", namespace)["status"]
    assert (status["availableReplicas"], status["updatedReplicas"]) == (3, 2)
    waiting = kubectl(sandbox, "rollout", "status", "deploy/web", "-n", namespace, "--timeout=1s")
    assert waiting.returncode != 0
    assert "2 out of 4 new replicas have been updated" in waiting.stdout

    def timed_out() -> bool:
        return _progressing(sandbox, namespace)["reason"] == "ProgressDeadlineExceeded"

    eventually(timed_out, timeout=10, what="ProgressDeadlineExceeded")
    assert _progressing(sandbox, namespace)["status"] == "False"
    late = kubectl(sandbox, "rollout", "status", "deploy/web", "-n", namespace, "--timeout=5s")
    assert late.returncode != 0
    assert 'deployment "web" exceeded its progress deadline' in late.stderr

    made = kubectl(
        sandbox,
        "create",
        "secret",
        "generic",
        "api-db",
        "-n",
        namespace,
        "--from-literal=password=x",
    )
    assert made.returncode == 0, made.stderr
    done = kubectl(sandbox, "rollout", "status", "deploy/web", "-n", namespace, "--timeout=10s")
    assert done.returncode == 0, done.stderr
    assert _replicas_by_revision(sandbox, namespace) == {"1": (0, 0), "2": (4, 4)}
    assert _progressing(sandbox, namespace)["reason"] == "NewReplicaSetAvailable"
