"""Scenarios: a pod Pending on a claim naming a missing StorageClass, and resizing a claim.

The sandbox serves the default class `standard` (kind's, local-path, WaitForFirstConsumer,
expandable); the volume controller provisions a PV per claim and resizes it when asked.
"""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.sandbox.scenarios.task import Task, apply, get, jsonpath, run, run_task, wait_ready

pytestmark = pytest.mark.sandbox

CLAIM = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data}}
spec:
  {storage_class}
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: {size}}}}}
"""
POD = """apiVersion: v1
kind: Pod
metadata: {name: db, labels: {app: db}}
spec:
  containers:
  - name: db
    image: redis:7
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"""


def _claim(size: str = "1Gi", storage_class: str = "") -> str:
    line = f"storageClassName: {storage_class}" if storage_class else ""
    return CLAIM.format(storage_class=line, size=size)


def _bound_and_ready(sandbox: SandboxInfo, namespace: str) -> list[str]:
    phase = jsonpath(sandbox, namespace, "pvc", "data", "-o", "jsonpath={.status.phase}")
    problems = [] if phase == "Bound" else [f"claim data is {phase or 'missing'}"]
    return problems + wait_ready(sandbox, namespace, "app=db")


def test_pending_pod_on_a_missing_storage_class(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(apply(_claim(storage_class="fast-ssd")), apply(POD)),
        fix=(
            run("delete", "pod", "db", "-n", "{ns}"),
            run("delete", "pvc", "data", "-n", "{ns}"),
            apply(_claim(storage_class="standard")),
            apply(POD),
        ),
        verify=_bound_and_ready,
    )
    run_task(sandbox, namespace, task)
    volume = jsonpath(sandbox, namespace, "pvc", "data", "-o", "jsonpath={.spec.volumeName}")
    pv = get(sandbox, "", "pv", volume)
    assert pv["spec"]["claimRef"]["namespace"] == namespace
    assert pv["spec"]["storageClassName"] == "standard"


def test_missing_class_shows_the_controllers_event(sandbox: SandboxInfo, namespace: str) -> None:
    for manifest in (_claim(storage_class="fast-ssd"), POD):
        assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=manifest).returncode == 0
    described = kubectl(sandbox, "describe", "pvc", "data", "-n", namespace).stdout
    assert 'storageclass.storage.k8s.io "fast-ssd" not found' in described
    assert "ProvisioningFailed" in described
    pod = kubectl(sandbox, "describe", "pod", "db", "-n", namespace).stdout
    assert "pod has unbound immediate PersistentVolumeClaims" in pod


def test_default_class_waits_for_its_first_consumer(sandbox: SandboxInfo, namespace: str) -> None:
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=_claim()).returncode == 0
    claim = get(sandbox, namespace, "pvc", "data")
    assert claim["status"]["phase"] == "Pending"
    assert claim["spec"]["storageClassName"] == "standard"
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=POD).returncode == 0
    assert not _bound_and_ready(sandbox, namespace)


def _capacity(sandbox: SandboxInfo, namespace: str) -> list[str]:
    have = jsonpath(sandbox, namespace, "pvc", "data", "-o", "jsonpath={.status.capacity.storage}")
    return [] if have == "5Gi" else [f"claim data has {have or 'no'} capacity, not 5Gi"]


def test_pvc_resize(sandbox: SandboxInfo, namespace: str) -> None:
    task = Task(
        setup=(apply(_claim("1Gi")), apply(POD)),
        fix=(
            run(
                "patch",
                "pvc",
                "data",
                "-n",
                "{ns}",
                "-p",
                '{"spec":{"resources":{"requests":{"storage":"5Gi"}}}}',
            ),
        ),
        verify=_capacity,
    )
    run_task(sandbox, namespace, task)
    volume = jsonpath(sandbox, namespace, "pvc", "data", "-o", "jsonpath={.spec.volumeName}")
    assert get(sandbox, "", "pv", volume)["spec"]["capacity"]["storage"] == "5Gi"
    assert (
        "VolumeResizeSuccessful"
        in kubectl(sandbox, "describe", "pvc", "data", "-n", namespace).stdout
    )


def test_shrinking_a_claim_is_refused_as_the_api_server_does(
    sandbox: SandboxInfo, namespace: str
) -> None:
    assert (
        kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=_claim("2Gi")).returncode == 0
    )
    assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=POD).returncode == 0
    shrunk = kubectl(
        sandbox,
        "patch",
        "pvc",
        "data",
        "-n",
        namespace,
        "-p",
        '{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}',
    )
    assert shrunk.returncode != 0
    assert (
        "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
        in shrunk.stderr
    )


def test_deleting_a_claim_in_use_waits_for_its_pod(sandbox: SandboxInfo, namespace: str) -> None:
    for manifest in (_claim(), POD):
        assert kubectl(sandbox, "apply", "-n", namespace, "-f", "-", stdin=manifest).returncode == 0
    volume = jsonpath(sandbox, namespace, "pvc", "data", "-o", "jsonpath={.spec.volumeName}")
    assert (
        kubectl(sandbox, "delete", "pvc", "data", "-n", namespace, "--wait=false").returncode == 0
    )
    listed = kubectl(sandbox, "get", "pvc", "data", "-n", namespace).stdout
    assert "Terminating" in listed
    assert kubectl(sandbox, "delete", "pod", "db", "-n", namespace).returncode == 0
    assert get(sandbox, namespace, "pvc", "data") is None
    assert get(sandbox, "", "pv", volume) is None
