"""The simulated kubelet at chosen moments: back-off schedules, states and messages, no waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsgate.sandbox.apiserver.store import Obj, Store
from opsgate.sandbox.containers import kubelet, states

START = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _world(*objects: tuple[str, Obj]) -> tuple[Store, Obj]:
    store = Store()
    node = store.put("nodes", {"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"}})
    for key, obj in objects:
        store.put(key, obj)
    return store, node


def _pod(container: dict[str, Any], annotations: dict[str, str] | None = None, **spec: Any) -> Obj:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1", "annotations": annotations or {}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", **container}], **spec},
    }


def _at(store: Store, pod: Obj, node: Obj, seconds: float) -> tuple[Obj, list[states.Occurrence]]:
    """The pod's status `seconds` after START, having been synced at START first."""
    status, _ = kubelet.pod_status(store, pod, node, START)
    return kubelet.pod_status(
        store, {**pod, "status": status}, node, START + timedelta(seconds=seconds)
    )


def test_back_off_doubles_from_10_s_to_at_most_5_min() -> None:
    assert [states.backoff_s(n) for n in range(1, 9)] == [10, 20, 40, 80, 160, 300, 300, 300]
    assert [states.go_duration(s) for s in (10, 80, 160, 300)] == [
        "10s",
        "1m20s",
        "2m40s",
        "5m0s",
    ]
    # Attempts at 0, 10, 30, 70, 150, 310, 610 s...
    assert states.retries(1, START, START + timedelta(seconds=9)) == (1, START)
    assert states.retries(1, START, START + timedelta(seconds=75)) == (
        4,
        START + timedelta(seconds=70),
    )
    two_hours = states.retries(1, START, START + timedelta(hours=2))
    assert two_hours == (28, START + timedelta(seconds=310 + 22 * 300))


def test_a_bad_image_shows_err_image_pull_first_then_backs_off() -> None:
    store, node = _world()
    pod = _pod({"image": "web:2-bad"})
    status, owed = kubelet.pod_status(store, pod, node, START)
    assert status["phase"] == "Pending"
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"
    assert {o.message for o in owed} >= {"Error: ErrImagePull"}
    later, owed = _at(store, pod, node, 45)
    waiting = later["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {
        "reason": "ImagePullBackOff",
        "message": 'Back-off pulling image "web:2-bad"',
    }
    counts = {o.message: o.count for o in owed}
    assert counts["Error: ImagePullBackOff"] == 3  # pulls at 0, 10 and 30 s


def test_a_crash_loop_restarts_after_each_back_off() -> None:
    store, node = _world()
    pod = _pod({"image": "api:1"}, {states.BEHAVIOR_ANNOTATION: "CrashLoopBackOff"})
    later, owed = _at(store, pod, node, 75)
    container = later["containerStatuses"][0]
    assert container["restartCount"] == 4  # restarts at 0, 10, 30 and 70 s
    assert container["lastState"]["terminated"]["finishedAt"] == "2026-01-01T12:01:10Z"
    assert container["state"]["waiting"]["message"].startswith("back-off 1m20s restarting")
    assert later["phase"] == "Running"
    assert {o.reason: o.count for o in owed if o.type == "Warning"} == {"BackOff": 4}


@pytest.mark.parametrize(
    ("objects", "message"),
    [
        ([], 'secret "db" not found'),
        (
            [
                (
                    "secrets",
                    {"metadata": {"name": "db", "namespace": "ns"}, "data": {"user": "eA=="}},
                )
            ],
            "couldn't find key password in Secret ns/db",
        ),
    ],
)
def test_env_config_errors_name_what_is_missing(
    objects: list[tuple[str, Obj]], message: str
) -> None:
    store, node = _world(*objects)
    ref = {"secretKeyRef": {"name": "db", "key": "password"}}
    pod = _pod({"image": "api:1", "env": [{"name": "P", "valueFrom": ref}]})
    status, owed = kubelet.pod_status(store, pod, node, START)
    assert status["containerStatuses"][0]["state"]["waiting"] == {
        "reason": "CreateContainerConfigError",
        "message": message,
    }
    assert ("Failed", f"Error: {message}", "Warning") in {
        (o.reason, o.message, o.type) for o in owed
    }


def test_a_volume_item_with_a_missing_key_cannot_be_mounted() -> None:
    config = {"metadata": {"name": "cfg", "namespace": "ns"}, "data": {"a": "1"}}
    store, node = _world(("configmaps", config))
    volume = {"name": "v", "configMap": {"name": "cfg", "items": [{"key": "b", "path": "b"}]}}
    status, owed = kubelet.pod_status(
        store, _pod({"image": "web:1"}, volumes=[volume]), node, START
    )
    assert status["containerStatuses"][0]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert "podIP" not in status
    assert [o.message for o in owed] == [
        'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: b'
    ]


def test_a_running_container_keeps_running_when_its_secret_goes() -> None:
    secret = {"metadata": {"name": "db", "namespace": "ns"}, "data": {"password": "eA=="}}
    store, node = _world(("secrets", secret))
    ref = {"secretKeyRef": {"name": "db", "key": "password"}}
    pod = _pod({"image": "api:1", "env": [{"name": "P", "valueFrom": ref}]})
    status, _ = kubelet.pod_status(store, pod, node, START)
    assert status["containerStatuses"][0]["ready"] is True
    store.delete("secrets", "ns", "db")
    later, owed = kubelet.pod_status(
        store, {**pod, "status": status}, node, START + timedelta(minutes=1)
    )
    assert later == status
    assert owed == []


def test_a_failing_liveness_probe_kills_each_run_and_backs_off() -> None:
    store, node = _world()
    # Default period 10 s and threshold 3: each run is killed 20 s after it starts.
    pod = _pod(
        {"image": "nginx:1.27", "livenessProbe": {"httpGet": {"path": "/healthz", "port": 80}}}
    )
    running, owed = _at(store, pod, node, 15)
    container = running["containerStatuses"][0]
    assert (container["restartCount"], container["ready"]) == (0, True)
    assert {o.message: o.count for o in owed}[
        "Liveness probe failed: HTTP probe failed with statuscode: 404"
    ] == 2
    # Starts at 0, 20 (at once), 40 (20 s run > 10 s back-off), 60, 100 (40 s back-off)...
    later, owed = _at(store, pod, node, 85)
    container = later["containerStatuses"][0]
    assert container["restartCount"] == 3
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert container["lastState"]["terminated"] == {
        "exitCode": 137,
        "reason": "Error",
        "startedAt": "2026-01-01T12:01:00Z",
        "finishedAt": "2026-01-01T12:01:20Z",
        "containerID": container["containerID"],
    }
    counts = {o.message: o.count for o in owed}
    assert counts["Container c failed liveness probe, will be restarted"] == 4
    assert counts["Liveness probe failed: HTTP probe failed with statuscode: 404"] == 12
    again, _ = _at(store, pod, node, 105)
    assert again["containerStatuses"][0]["restartCount"] == 4
    assert "running" in again["containerStatuses"][0]["state"]


def test_a_startup_probe_holds_readiness_and_a_failing_one_kills() -> None:
    store, node = _world()
    probe = {"httpGet": {"path": "/", "port": 80}}
    pod = _pod(
        {
            "image": "nginx:1.27",
            "startupProbe": {**probe, "initialDelaySeconds": 30},
            "readinessProbe": probe,
            # Would kill at once, but liveness only counts once the startup probe succeeded.
            "livenessProbe": {"httpGet": {"path": "/", "port": 80}, "initialDelaySeconds": 5},
        }
    )
    early, _ = _at(store, pod, node, 10)
    container = early["containerStatuses"][0]
    assert (container["started"], container["ready"], container["restartCount"]) == (
        False,
        False,
        0,
    )
    up, _ = _at(store, pod, node, 31)
    assert (up["containerStatuses"][0]["started"], up["containerStatuses"][0]["ready"]) == (
        True,
        True,
    )
    failing = _pod({"image": "nginx:1.27", "startupProbe": {"tcpSocket": {"port": 9999}}})
    killed, owed = _at(store, failing, node, 25)
    container = killed["containerStatuses"][0]
    assert (container["started"], container["ready"], container["restartCount"]) == (
        False,
        False,
        1,
    )
    messages = {o.message for o in owed}
    assert "Container c failed startup probe, will be restarted" in messages
    assert any(m.startswith("Startup probe failed: dial tcp ") for m in messages)
