"""The replica set controller: pods for a ReplicaSet's `spec.replicas`, and its status.

Registered in `loop.CONTROLLERS`; Deployments (`deployments`) drive ReplicaSets, which create
their pods through admission (`scheduler.create_pod`), so a quota or a missing service account
shows as `FailedCreate` events and a `ReplicaFailure` condition, as on a real cluster.
"""

from __future__ import annotations

from opsgate.sandbox.apiserver.store import Obj, Store, now_iso
from opsgate.sandbox.controllers import events, scheduler
from opsgate.sandbox.controllers.owners import owned_pods, pod_counts, save_if_changed

COMPONENT = "replicaset-controller"


def _failure(rs: Obj) -> str:
    """The message of the ReplicaSet's ReplicaFailure condition (empty when none)."""
    for condition in (rs.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return str(condition.get("message", ""))
    return ""


def _ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def reconcile_replicaset(store: Store, rs: Obj) -> bool:
    """Create or delete pods so a ReplicaSet has `spec.replicas` of them; update its status."""
    changed = False
    namespace = rs["metadata"]["namespace"]
    found = owned_pods(store, rs)
    desired = int(rs["spec"].get("replicas", 1))
    refused = ""
    before = _failure(rs)
    for _ in range(desired - len(found)):
        name = f"{rs['metadata']['name']}-{scheduler.random_suffix()}"
        template = scheduler.pod_from_template(rs["spec"]["template"], name, namespace, rs)
        made = scheduler.create_pod(store, template, rs, COMPONENT)
        if isinstance(made, str):
            refused = made
            scheduler.failed_create(store, rs, made, COMPONENT, before)
            break
        found.append(made)
        changed = True
    if len(found) > desired:
        # As the real controller: pods that are not Ready go first, then the youngest.
        found.sort(key=lambda p: p["metadata"]["creationTimestamp"], reverse=True)
        found.sort(key=_ready)
        for pod in found[: len(found) - desired]:
            store.delete("pods", namespace, pod["metadata"]["name"])
            events.record(
                store,
                rs,
                "SuccessfulDelete",
                f"Deleted pod: {pod['metadata']['name']}",
                component=COMPONENT,
            )
        found = found[len(found) - desired :]
        changed = True
    total, ready = pod_counts(found)
    status = {
        "replicas": total,
        "fullyLabeledReplicas": total,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs["metadata"].get("generation", 1),
    }
    status = {k: v for k, v in status.items() if v != 0 or k in ("replicas", "observedGeneration")}
    if refused:
        kept = before == refused
        old = (
            next(c for c in rs["status"]["conditions"] if c["type"] == "ReplicaFailure")
            if kept
            else {}
        )
        status["conditions"] = [
            {
                "type": "ReplicaFailure",
                "status": "True",
                "reason": "FailedCreate",
                "message": refused,
                "lastTransitionTime": old.get("lastTransitionTime") or now_iso(),
            }
        ]
    fresh = store.get("replicasets.apps", namespace, rs["metadata"]["name"])
    return (
        fresh is not None
        and save_if_changed(store, "replicasets.apps", fresh, {**fresh, "status": status})
    ) or changed
