"""Reading a rollout's progress and a pod's trouble from their JSON (pure: nothing runs)."""

from __future__ import annotations

from typing import Any

import pytest

from opsgate.tools import pods, rollout


def deployment(
    *, generation: int = 2, observed: int = 2, desired: int = 2, **status: Any
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "uid": "d-1",
            "generation": generation,
            "annotations": {rollout.REVISION_ANNOTATION: "2"},
        },
        "spec": {"replicas": desired, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"observedGeneration": observed, **status},
    }


def test_a_change_the_controller_has_not_observed_is_not_done_even_if_the_old_state_was() -> None:
    stale = deployment(generation=3, observed=2, replicas=2, updatedReplicas=2, availableReplicas=2)
    state = rollout.progress("deployment", stale)
    assert not state.done
    assert "observe the change" in state.text


@pytest.mark.parametrize(
    ("status", "done", "text"),
    [
        ({"replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}, False, "1 of 2 new"),
        ({"replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}, False, "1 old replicas"),
        ({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 1}, False, "1 of 2 updated"),
        ({"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}, True, "2 of 2 replicas"),
    ],
)
def test_a_deployment_is_done_when_every_replica_is_new_and_available(
    status: dict[str, int], done: bool, text: str
) -> None:
    state = rollout.progress("deployment", deployment(**status))
    assert state.done is done
    assert text in state.text


def test_a_progress_deadline_exceeded_cannot_resolve_by_itself() -> None:
    condition = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "web-2" has timed out progressing.',
    }
    state = rollout.progress("deployment", deployment(conditions=[condition], updatedReplicas=1))
    assert state.fatal == 'ProgressDeadlineExceeded: ReplicaSet "web-2" has timed out progressing.'


def _rs(name: str, revision: str) -> dict[str, Any]:
    return {
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "uid": f"rs-{name}",
            "annotations": {rollout.REVISION_ANNOTATION: revision},
            "ownerReferences": [{"kind": "Deployment", "uid": "d-1"}],
        },
    }


def _pod(name: str, owner: str, **status: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {"name": name, "ownerReferences": [{"kind": "ReplicaSet", "uid": owner}]},
        "status": status,
    }


def test_only_the_pods_of_the_current_revision_are_the_new_pods() -> None:
    listed = [
        _rs("web-1", "1"),
        _rs("web-2", "2"),
        _pod("web-1-a", "rs-web-1"),
        _pod("web-2-a", "rs-web-2"),
    ]
    found = rollout.new_pods("deployment", deployment(), listed)
    assert [pod["metadata"]["name"] for pod in found] == ["web-2-a"]


def _waiting(reason: str, message: str = "", restarts: int = 0) -> dict[str, Any]:
    return {
        "metadata": {"name": "api-6d9f-x2"},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "api",
                    "ready": False,
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": reason, "message": message}},
                }
            ],
        },
    }


@pytest.mark.parametrize(
    ("pod", "fatal", "line"),
    [
        (
            _waiting("CreateContainerConfigError", 'secret "api-db" not found'),
            True,
            'pod api-6d9f-x2: CreateContainerConfigError: secret "api-db" not found',
        ),
        (
            _waiting("ImagePullBackOff", 'Back-off pulling image "api:bad"'),
            True,
            'pod api-6d9f-x2: ImagePullBackOff: Back-off pulling image "api:bad"',
        ),
        (_waiting("InvalidImageName"), True, "pod api-6d9f-x2: InvalidImageName"),
        (_waiting("CrashLoopBackOff", "back-off 10s", restarts=2), True, "CrashLoopBackOff"),
        (_waiting("CrashLoopBackOff", "back-off 10s", restarts=0), False, "CrashLoopBackOff"),
        (_waiting("ContainerCreating"), False, "pod api-6d9f-x2: ContainerCreating"),
    ],
)
def test_a_waiting_reason_that_will_not_resolve_is_fatal(
    pod: dict[str, Any], fatal: bool, line: str
) -> None:
    found = pods.problem(pod)
    assert found is not None
    assert found.fatal is fatal
    assert line in found.line()


def test_a_running_ready_or_completed_pod_has_no_problem() -> None:
    ready = {
        "metadata": {"name": "a"},
        "status": {"phase": "Running", "containerStatuses": [{"ready": True, "state": {}}]},
    }
    assert pods.problem(ready) is None
    assert pods.problem({"metadata": {"name": "b"}, "status": {"phase": "Succeeded"}}) is None


def test_an_unschedulable_pod_is_waiting_not_fatal() -> None:
    pod = {
        "metadata": {"name": "a"},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
        },
    }
    found = pods.problem(pod)
    assert found is not None
    assert (found.reason, found.fatal) == ("Unschedulable", False)


def test_workloads_are_found_in_a_manifest_and_by_reference() -> None:
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n---\n"
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: data}\n"
    )
    assert rollout.workloads_in(manifest, "shop") == [
        rollout.Workload("deployment", "web", "shop"),
        rollout.Workload("statefulset", "db", "data"),
    ]
    assert rollout.workload_of("deployments.apps", "web", None) == rollout.Workload(
        "deployment", "web", None
    )
    assert rollout.workload_of("configmap/web", None, None) is None


def test_a_selector_with_expressions_reads_as_kubectl_does() -> None:
    obj = {
        "spec": {
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["a", "b"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            }
        }
    }
    assert rollout.selector_of(obj) == "app=web,tier in (a,b),!canary"
