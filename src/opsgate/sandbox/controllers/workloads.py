"""The DaemonSet controller (one pod per node); Jobs have `jobs`, StatefulSets `statefulsets`.

Registered in `controllers.CONTROLLERS`; each runs for one object and returns whether it changed
anything.
"""

from __future__ import annotations

from opsgate.sandbox.apiserver.store import Obj, Store
from opsgate.sandbox.controllers import scheduler
from opsgate.sandbox.controllers.owners import (
    owned_pods,
    pod_counts,
    save_if_changed,
)


def reconcile_daemonset(store: Store, ds: Obj) -> bool:
    """One pod per node for a DaemonSet, and its status."""
    changed = False
    namespace, name = ds["metadata"]["namespace"], ds["metadata"]["name"]
    found = owned_pods(store, ds)
    covered = {p.get("spec", {}).get("nodeName") for p in found}
    for node in store.list("nodes"):
        if node["metadata"]["name"] not in covered:
            pod = scheduler.pod_from_template(
                ds["spec"]["template"], f"{name}-{scheduler.random_suffix()}", namespace, ds
            )
            pod["spec"]["nodeName"] = node["metadata"]["name"]
            found.append(scheduler.start_pod(store, pod))
            changed = True
    total, ready = pod_counts(found)
    status = {
        "desiredNumberScheduled": total,
        "currentNumberScheduled": total,
        "numberReady": ready,
        "updatedNumberScheduled": total,
        "numberAvailable": ready,
        "numberMisscheduled": 0,
        "observedGeneration": ds["metadata"].get("generation", 1),
    }
    fresh = store.get("daemonsets.apps", namespace, name)
    return (
        fresh is not None
        and save_if_changed(store, "daemonsets.apps", fresh, {**fresh, "status": status})
    ) or changed
