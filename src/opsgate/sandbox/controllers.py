"""The sandbox's controllers: deployments, replica sets, bare pods, garbage collection.

`api` calls `reconcile(store)` after every write; it runs each controller (stateful sets, daemon
sets and jobs live in `workloads`) until nothing changes.
Rolling updates: a new ReplicaSet whose pods are healthy takes every replica at once; one whose
pods cannot become ready (see `pods`) gets a surge of 25% while the previous ReplicaSet keeps
serving, so `kubectl rollout status` waits (and times out) as on a real cluster.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from opsgate.sandbox import pods, workloads
from opsgate.sandbox.owners import (
    owned_by,
    owned_pods,
    pod_counts,
    save_if_changed,
    template_hash,
)
from opsgate.sandbox.store import Obj, Store, clone, now_iso, parse_time

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
Controller = Callable[[Store], bool]


def revision_of(obj: Obj) -> int:
    """The deployment revision recorded on a ReplicaSet (0 when missing)."""
    return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)


def template_healthy(template: Obj) -> bool:
    """Whether pods from this template become Ready."""
    probe = {"metadata": template.get("metadata", {}), "spec": template.get("spec", {})}
    return pods.pod_behavior(probe) == "Running"


def _new_replicaset(dep: Obj, hash_: str, revision: int) -> Obj:
    meta = dep["metadata"]
    template = clone(dep["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = hash_
    selector = clone(dep["spec"].get("selector", {}))
    selector.setdefault("matchLabels", {})["pod-template-hash"] = hash_
    annotations = {
        REVISION: str(revision),
        "deployment.kubernetes.io/desired-replicas": str(dep["spec"]["replicas"]),
    }
    cause = (meta.get("annotations") or {}).get(CHANGE_CAUSE)
    if cause:
        annotations[CHANGE_CAUSE] = cause
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{hash_}",
            "namespace": meta["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": annotations,
            "ownerReferences": [pods.owner_reference(dep)],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    }


def _scale(store: Store, dep: Obj, rs: Obj, replicas: int) -> bool:
    current = rs["spec"].get("replicas", 0)
    if current == replicas:
        return False
    rs["spec"]["replicas"] = replicas
    store.put("replicasets.apps", rs)
    direction = "up" if replicas > current else "down"
    message = (
        f"Scaled {direction} replica set {rs['metadata']['name']} from {current} to {replicas}"
    )
    pods.record_event(store, dep, "ScalingReplicaSet", message, component="deployment-controller")
    return True


def _condition(kind: str, status: bool, reason: str, message: str, old: list[Obj]) -> Obj:
    flag = "True" if status else "False"
    previous = next((c for c in old if c.get("type") == kind), None)
    same = previous and (previous.get("status"), previous.get("reason")) == (flag, reason)
    if previous and same and previous.get("message") == message:
        return previous
    now = now_iso()
    return {
        "type": kind,
        "status": flag,
        "reason": reason,
        "message": message,
        "lastUpdateTime": now,
        "lastTransitionTime": now,
    }


def _progressing(dep: Obj, rs_name: str, complete: bool, old: list[Obj]) -> Obj:
    """The Progressing condition, timing out after `progressDeadlineSeconds` like the real one."""
    timed_out = f'ReplicaSet "{rs_name}" has timed out progressing.'
    previous = next((c for c in old if c.get("type") == "Progressing"), None)
    if not complete and previous and previous.get("message") == timed_out:
        return previous
    if complete:
        message = f'ReplicaSet "{rs_name}" has successfully progressed.'
        return _condition("Progressing", True, "NewReplicaSetAvailable", message, old)
    condition = _condition(
        "Progressing", True, "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', old
    )
    waited = (parse_time(now_iso()) - parse_time(condition["lastUpdateTime"])).total_seconds()
    if waited > int(dep["spec"].get("progressDeadlineSeconds", 600)):
        return _condition("Progressing", False, "ProgressDeadlineExceeded", timed_out, old)
    return condition


def reconcile_deployment(store: Store, dep: Obj) -> bool:
    """Drive one Deployment's ReplicaSets and status; True when anything changed."""
    changed = False
    meta, spec = dep["metadata"], dep["spec"]
    namespace = meta["namespace"]
    desired = int(spec.get("replicas", 1))
    owned = [clone(rs) for rs in store.scan("replicasets.apps", namespace) if owned_by(rs, dep)]
    hash_ = template_hash(spec["template"])
    new = next(
        (rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == hash_),
        None,
    )
    top = max((revision_of(rs) for rs in owned), default=0)
    if new is None and not spec.get("paused"):
        new = store.put("replicasets.apps", _new_replicaset(dep, hash_, top + 1))
        owned.append(new)
        changed = True
    elif new is not None and revision_of(new) < top and not spec.get("paused"):
        new["metadata"].setdefault("annotations", {})[REVISION] = str(top + 1)
        new = store.put("replicasets.apps", new)
        changed = True
    if new is None:
        return changed
    olds = sorted(
        (rs for rs in owned if rs["metadata"]["uid"] != new["metadata"]["uid"]),
        key=revision_of,
        reverse=True,
    )
    serving = [rs for rs in olds if rs["spec"].get("replicas", 0) > 0]
    if template_healthy(spec["template"]) or not serving or spec.get("paused"):
        if not spec.get("paused"):
            changed |= _scale(store, dep, new, desired)
            for rs in olds:
                changed |= _scale(store, dep, rs, 0)
    else:
        surge = min(desired, max(1, math.ceil(desired * 0.25)))
        changed |= _scale(store, dep, new, surge)
        changed |= _scale(store, dep, serving[0], desired)
        for rs in serving[1:]:
            changed |= _scale(store, dep, rs, 0)
    limit = int(spec.get("revisionHistoryLimit", 10))
    idle = [rs for rs in olds if rs["spec"].get("replicas", 0) == 0]
    for rs in idle[limit:]:
        store.delete("replicasets.apps", namespace, rs["metadata"]["name"])
        changed = True
    return _deployment_status(store, dep, new) or changed


def _deployment_status(store: Store, dep: Obj, new: Obj) -> bool:
    fresh = store.get("deployments.apps", dep["metadata"]["namespace"], dep["metadata"]["name"])
    if fresh is None:
        return False
    owned = [
        rs
        for rs in store.scan("replicasets.apps", dep["metadata"]["namespace"])
        if owned_by(rs, fresh)
    ]
    new_rs = next((rs for rs in owned if rs["metadata"]["uid"] == new["metadata"]["uid"]), new)
    desired = int(fresh["spec"].get("replicas", 1))
    replicas = sum(rs.get("status", {}).get("replicas", 0) for rs in owned)
    ready = sum(rs.get("status", {}).get("readyReplicas", 0) for rs in owned)
    updated = new_rs.get("status", {}).get("replicas", 0)
    max_unavailable = math.floor(desired * 0.25)
    old_conditions = fresh.get("status", {}).get("conditions", [])
    rs_name = new_rs["metadata"]["name"]
    complete = updated == desired and replicas == desired and ready >= desired
    available = _condition(
        "Available",
        ready >= desired - max_unavailable,
        "MinimumReplicasAvailable"
        if ready >= desired - max_unavailable
        else "MinimumReplicasUnavailable",
        "Deployment has minimum availability."
        if ready >= desired - max_unavailable
        else "Deployment does not have minimum availability.",
        old_conditions,
    )
    progressing = _progressing(fresh, rs_name, complete, old_conditions)
    status: Obj = {
        "observedGeneration": fresh["metadata"].get("generation", 1),
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "conditions": [available, progressing],
    }
    if replicas - ready > 0:
        status["unavailableReplicas"] = replicas - ready
    after = clone(fresh)
    after["status"] = {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}
    annotations = after["metadata"].setdefault("annotations", {})
    annotations[REVISION] = str(revision_of(new_rs))
    return save_if_changed(store, "deployments.apps", fresh, after)


def reconcile_replicaset(store: Store, rs: Obj) -> bool:
    """Create or delete pods so a ReplicaSet has `spec.replicas` of them; update its status."""
    changed = False
    namespace = rs["metadata"]["namespace"]
    found = owned_pods(store, rs)
    desired = int(rs["spec"].get("replicas", 1))
    for _ in range(desired - len(found)):
        name = f"{rs['metadata']['name']}-{pods.random_suffix()}"
        pod = pods.start_pod(
            store, pods.pod_from_template(rs["spec"]["template"], name, namespace, rs)
        )
        pods.record_event(
            store, rs, "SuccessfulCreate", f"Created pod: {name}", component="replicaset-controller"
        )
        found.append(pod)
        changed = True
    if len(found) > desired:
        found.sort(
            key=lambda p: (pods.pod_behavior(p) == "Running", p["metadata"]["creationTimestamp"])
        )
        for pod in found[: len(found) - desired]:
            store.delete("pods", namespace, pod["metadata"]["name"])
            pods.record_event(
                store,
                rs,
                "SuccessfulDelete",
                f"Deleted pod: {pod['metadata']['name']}",
                component="replicaset-controller",
            )
        found = found[len(found) - desired :]
        changed = True
    total, ready = pod_counts(found)
    after = clone(rs)
    after["status"] = {
        "replicas": total,
        "fullyLabeledReplicas": total,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs["metadata"].get("generation", 1),
    }
    after["status"] = {
        k: v
        for k, v in after["status"].items()
        if v != 0 or k in ("replicas", "observedGeneration")
    }
    fresh = store.get("replicasets.apps", namespace, rs["metadata"]["name"])
    return (
        fresh is not None
        and save_if_changed(store, "replicasets.apps", fresh, {**fresh, "status": after["status"]})
    ) or changed


def reconcile_pods(store: Store) -> bool:
    """Schedule and start bare pods that have no status yet (e.g. `kubectl run`)."""
    changed = False
    for pod in store.scan("pods"):
        if not pod.get("status", {}).get("phase"):
            pods.start_pod(store, clone(pod))
            changed = True
    return changed


def collect_garbage(store: Store) -> bool:
    """Delete objects whose every owner is gone (background cascading deletion)."""
    uids = {obj["metadata"].get("uid") for _, obj in store.all_objects()}
    changed = False
    for key, obj in list(store.all_objects()):
        refs = obj["metadata"].get("ownerReferences") or []
        if refs and not any(ref.get("uid") in uids for ref in refs):
            store.delete(key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            changed = True
    return changed


def _each(key: str, fn: Callable[[Store, Obj], bool]) -> Controller:
    def run(store: Store) -> bool:
        changed = False
        names = [
            (o["metadata"].get("namespace", ""), o["metadata"]["name"]) for o in store.scan(key)
        ]
        for namespace, name in names:
            current = store.get(key, namespace, name)
            if current is not None:
                changed |= fn(store, current)
        return changed

    return run


CONTROLLERS: list[Controller] = [
    collect_garbage,
    _each("deployments.apps", reconcile_deployment),
    _each("replicasets.apps", reconcile_replicaset),
    _each("statefulsets.apps", workloads.reconcile_statefulset),
    _each("daemonsets.apps", workloads.reconcile_daemonset),
    _each("jobs.batch", workloads.reconcile_job),
    reconcile_pods,
]


def reconcile(store: Store, extra: list[Controller] | None = None, rounds: int = 8) -> None:
    """Run every controller until the cluster is stable (bounded, so a bug cannot spin forever)."""
    controllers: list[Any] = [*CONTROLLERS, *(extra or [])]
    for _ in range(rounds):
        if not any([controller(store) for controller in controllers]):
            return
