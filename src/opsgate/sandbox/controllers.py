"""The sandbox's controller loop, with the replica set controller, the scheduler's retries and
garbage collection.

`cluster` calls `reconcile(store)` after every write and on the server's one-second tick; it
runs each controller (deployments in `deployments`; stateful sets, daemon sets and jobs in
`workloads`; containers in `kubelet`) until nothing changes. Controllers take one step per
pass as the real ones do, so a rolling update of healthy pods finishes within one `reconcile`
while one of failing pods stops where the real controller would.
"""

from __future__ import annotations

from collections.abc import Callable

from opsgate.sandbox import deployments, events, kubelet, pods, workloads
from opsgate.sandbox.owners import owned_pods, pod_counts, save_if_changed
from opsgate.sandbox.store import Obj, Store, clone

Controller = Callable[[Store], bool]
ROUNDS = 64
"""Passes per `reconcile` at most: a rolling update of a few hundred replicas needs a dozen;
the bound keeps a controller bug from spinning forever."""


def _ready(pod: Obj) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


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
        events.record(
            store, rs, "SuccessfulCreate", f"Created pod: {name}", component="replicaset-controller"
        )
        found.append(pod)
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
                component="replicaset-controller",
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
    fresh = store.get("replicasets.apps", namespace, rs["metadata"]["name"])
    return (
        fresh is not None
        and save_if_changed(store, "replicasets.apps", fresh, {**fresh, "status": status})
    ) or changed


def reconcile_pods(store: Store) -> bool:
    """The scheduler: start pods that have no status yet (e.g. `kubectl run`), and place pods
    left Pending for want of a node once one can take them."""
    changed = False
    for pod in store.scan("pods"):
        if not pod.get("status", {}).get("phase"):
            pods.start_pod(store, clone(pod))
            changed = True
        elif not pod.get("spec", {}).get("nodeName"):
            changed |= pods.place(store, clone(pod))
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
    _each(deployments.KEY, deployments.reconcile_deployment),
    _each("replicasets.apps", reconcile_replicaset),
    _each("statefulsets.apps", workloads.reconcile_statefulset),
    _each("daemonsets.apps", workloads.reconcile_daemonset),
    _each("jobs.batch", workloads.reconcile_job),
    reconcile_pods,
    kubelet.reconcile,
]


def reconcile(store: Store, extra: list[Controller] | None = None, rounds: int = ROUNDS) -> None:
    """Run every controller until the cluster is stable (bounded, so a bug cannot spin forever)."""
    controllers = [*CONTROLLERS, *(extra or [])]
    for _ in range(rounds):
        if not any([controller(store) for controller in controllers]):
            return
