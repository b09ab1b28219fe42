"""The deployment controller: a ReplicaSet per pod template, rolling updates, status, conditions.

Registered in `controllers.CONTROLLERS`. A rolling update takes one step per pass, as the real
controller does: the new ReplicaSet grows within `maxSurge`, and old ones shrink only while
`maxUnavailable` still holds, counting Ready pods. A new template whose pods never become
Ready (see `kubelet`) therefore leaves the old pods serving and `kubectl rollout status`
waiting; with no progress for `progressDeadlineSeconds` the Progressing condition turns False
(`ProgressDeadlineExceeded`). `Recreate` stops the old pods before starting new ones.
"""

from __future__ import annotations

import math
from typing import Any

from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso, parse_time
from opsgate.sandbox.controllers import events, scheduler
from opsgate.sandbox.controllers.owners import owned_by, owned_pods, save_if_changed, template_hash

KEY = "deployments.apps"
RS_KEY = "replicasets.apps"
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def revision_of(obj: Obj) -> int:
    """The deployment revision recorded on a ReplicaSet (0 when missing)."""
    return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)


def _scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An int-or-percent field (`maxSurge: 25%`) as a count of `total` replicas."""
    text = str(value)
    if text.endswith("%"):
        share = total * int(text[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(text)


def limits(dep: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) of a rolling update, as the real controller resolves them."""
    spec = dep["spec"]
    desired = int(spec.get("replicas", 1))
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = _scaled_value(rolling.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = _scaled_value(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, desired)


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
            "ownerReferences": [scheduler.owner_reference(dep)],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    }


def _replicas(rs: Obj) -> int:
    return int(rs["spec"].get("replicas", 0))


def _available(rs: Obj) -> int:
    return int(rs.get("status", {}).get("availableReplicas", 0))


def _scale(store: Store, dep: Obj, rs: Obj, replicas: int) -> bool:
    current = _replicas(rs)
    if current == replicas:
        return False
    rs["spec"]["replicas"] = replicas
    rs["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(
        dep["spec"].get("replicas", 1)
    )
    store.put(RS_KEY, rs)
    direction = "up" if replicas > current else "down"
    message = (
        f"Scaled {direction} replica set {rs['metadata']['name']} from {current} to {replicas}"
    )
    events.record(store, dep, "ScalingReplicaSet", message, component="deployment-controller")
    return True


def _grow_new(store: Store, dep: Obj, new: Obj, everything: list[Obj], surge: int) -> bool:
    """Scale the new ReplicaSet towards the desired count within the surge (one step)."""
    desired = int(dep["spec"].get("replicas", 1))
    if _replicas(new) >= desired:
        return _scale(store, dep, new, desired)
    room = desired + surge - sum(_replicas(rs) for rs in everything)
    if room <= 0:
        return False
    return _scale(store, dep, new, _replicas(new) + min(room, desired - _replicas(new)))


def _shrink_old(
    store: Store, dep: Obj, new: Obj, olds: list[Obj], everything: list[Obj], unavailable: int
) -> bool:
    """Scale old ReplicaSets down while enough pods stay available (one step).

    Unavailable old pods go first; then as many available ones as `maxUnavailable` allows,
    where the new ReplicaSet's unavailable pods count against it.
    """
    if not any(_replicas(rs) for rs in olds):
        return False
    desired = int(dep["spec"].get("replicas", 1))
    min_available = desired - unavailable
    new_unavailable = _replicas(new) - _available(new)
    budget = sum(_replicas(rs) for rs in everything) - min_available - new_unavailable
    if budget <= 0:
        return False
    changed = False
    for rs in olds:
        unhealthy = _replicas(rs) - _available(rs)
        if budget <= 0 or unhealthy <= 0:
            continue
        cut = min(budget, unhealthy)
        changed |= _scale(store, dep, rs, _replicas(rs) - cut)
        budget -= cut
    spare = sum(_available(rs) for rs in everything) - min_available
    for rs in olds:
        if spare <= 0:
            break
        cut = min(_replicas(rs), spare)
        if cut > 0:
            changed |= _scale(store, dep, rs, _replicas(rs) - cut)
            spare -= cut
    return changed


def _recreate(store: Store, dep: Obj, new: Obj, olds: list[Obj]) -> bool:
    """Recreate: every old pod stops before the new ReplicaSet starts any."""
    changed = False
    for rs in olds:
        changed |= _scale(store, dep, rs, 0)
    if changed or any(owned_pods(store, rs) for rs in olds):
        return changed
    return _scale(store, dep, new, int(dep["spec"].get("replicas", 1)))


def reconcile_deployment(store: Store, dep: Obj) -> bool:
    """Drive one Deployment's ReplicaSets and status; True when anything changed."""
    changed = False
    meta, spec = dep["metadata"], dep["spec"]
    namespace = meta["namespace"]
    paused = bool(spec.get("paused"))
    owned = [clone(rs) for rs in store.scan(RS_KEY, namespace) if owned_by(rs, dep)]
    hash_ = template_hash(spec["template"])
    new = next(
        (rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == hash_),
        None,
    )
    top = max((revision_of(rs) for rs in owned), default=0)
    created = False
    if new is None and not paused:
        new = store.put(RS_KEY, _new_replicaset(dep, hash_, top + 1))
        owned.append(new)
        changed = created = True
    elif new is not None and revision_of(new) < top and not paused:
        new["metadata"].setdefault("annotations", {})[REVISION] = str(top + 1)
        new = store.put(RS_KEY, new)
        changed = True
    if new is None:
        return changed
    olds = sorted(
        (rs for rs in owned if rs["metadata"]["uid"] != new["metadata"]["uid"]), key=revision_of
    )
    everything = [new, *olds]
    if paused:
        pass
    elif (spec.get("strategy") or {}).get("type") == "Recreate":
        changed |= _recreate(store, dep, new, olds)
    else:
        surge, unavailable = limits(dep)
        changed |= _grow_new(store, dep, new, everything, surge) or _shrink_old(
            store, dep, new, olds, everything, unavailable
        )
    limit = int(spec.get("revisionHistoryLimit", 10))
    idle = [rs for rs in reversed(olds) if _replicas(rs) == 0]
    for rs in idle[limit:]:
        store.delete(RS_KEY, namespace, rs["metadata"]["name"])
        changed = True
    return _deployment_status(store, dep, new, created) or changed


def _condition(kind: str, status: str, reason: str, message: str, old: list[Obj]) -> Obj:
    """A condition, keeping the previous one's times when nothing about it changed."""
    previous = next((c for c in old if c.get("type") == kind), None)
    if previous and (previous.get("status"), previous.get("reason"), previous.get("message")) == (
        status,
        reason,
        message,
    ):
        return previous
    now = now_iso()
    transition = now
    if previous and previous.get("status") == status:
        transition = previous.get("lastTransitionTime", now)
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    }


def _progressed(before: Obj, after: Obj) -> bool:
    """The real controller's test of progress between two statuses."""
    return bool(
        after.get("updatedReplicas", 0) > before.get("updatedReplicas", 0)
        or after.get("readyReplicas", 0) > before.get("readyReplicas", 0)
        or after.get("availableReplicas", 0) > before.get("availableReplicas", 0)
        or after.get("replicas", 0) - after.get("updatedReplicas", 0)
        < before.get("replicas", 0) - before.get("updatedReplicas", 0)
    )


def _progressing(dep: Obj, rs_name: str, before: Obj, after: Obj, created: bool) -> Obj:
    """The Progressing condition: created, progressing, complete, or timed out."""
    old: list[Obj] = before.get("conditions", [])
    current: Obj | None = next((c for c in old if c.get("type") == "Progressing"), None)
    desired = int(dep["spec"].get("replicas", 1))
    if dep["spec"].get("paused"):
        return _condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", old)
    if created:
        message = f'Created new replica set "{rs_name}"'
        return _condition("Progressing", "True", "NewReplicaSetCreated", message, old)
    complete = (
        after.get("updatedReplicas", 0) == desired
        and after.get("replicas", 0) == desired
        and after.get("availableReplicas", 0) == desired
    )
    if complete:
        message = f'ReplicaSet "{rs_name}" has successfully progressed.'
        return _condition("Progressing", "True", "NewReplicaSetAvailable", message, old)
    if current is not None and current.get("reason") == "ProgressDeadlineExceeded":
        return current
    if (
        current is not None
        and current.get("reason") == "NewReplicaSetAvailable"
        and after.get("replicas", 0) == after.get("updatedReplicas", 0)
    ):
        # A finished rollout stays finished while only its ReplicaSet runs (a pod replaced
        # later is not a rollout that can time out).
        return current
    progressing = f'ReplicaSet "{rs_name}" is progressing.'
    if current is None or _progressed(before, after) or current.get("status") != "True":
        condition = _condition("Progressing", "True", "ReplicaSetUpdated", progressing, old)
        if condition is current:
            condition = {**current, "lastUpdateTime": now_iso()}
        return condition
    waited = (parse_time(now_iso()) - parse_time(current.get("lastUpdateTime"))).total_seconds()
    if waited > int(dep["spec"].get("progressDeadlineSeconds", 600)):
        timed_out = f'ReplicaSet "{rs_name}" has timed out progressing.'
        return _condition("Progressing", "False", "ProgressDeadlineExceeded", timed_out, old)
    return current


def _deployment_status(store: Store, dep: Obj, new: Obj, created: bool) -> bool:
    namespace, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
    fresh = store.get(KEY, namespace, name)
    if fresh is None:
        return False
    owned = [rs for rs in store.scan(RS_KEY, namespace) if owned_by(rs, fresh)]
    new_rs = next((rs for rs in owned if rs["metadata"]["uid"] == new["metadata"]["uid"]), new)
    desired = int(fresh["spec"].get("replicas", 1))
    _, max_unavailable = limits(fresh)
    available = sum(_available(rs) for rs in owned)
    status: Obj = {
        "observedGeneration": fresh["metadata"].get("generation", 1),
        "replicas": sum(rs.get("status", {}).get("replicas", 0) for rs in owned),
        "updatedReplicas": new_rs.get("status", {}).get("replicas", 0),
        "readyReplicas": sum(rs.get("status", {}).get("readyReplicas", 0) for rs in owned),
        "availableReplicas": available,
        "unavailableReplicas": max(sum(_replicas(rs) for rs in owned) - available, 0),
    }
    before = fresh.get("status", {})
    old_conditions = before.get("conditions", [])
    enough = available >= desired - max_unavailable
    available_condition = _condition(
        "Available",
        "True" if enough else "False",
        "MinimumReplicasAvailable" if enough else "MinimumReplicasUnavailable",
        "Deployment has minimum availability."
        if enough
        else "Deployment does not have minimum availability.",
        old_conditions,
    )
    progressing = _progressing(fresh, new_rs["metadata"]["name"], before, status, created)
    status["conditions"] = [available_condition, progressing]
    after = clone(fresh)
    after["status"] = {k: v for k, v in status.items() if v != 0 or k == "observedGeneration"}
    after["metadata"].setdefault("annotations", {})[REVISION] = str(revision_of(new_rs))
    return save_if_changed(store, KEY, fresh, after)
