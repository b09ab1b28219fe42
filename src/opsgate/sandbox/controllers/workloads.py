"""Controllers for DaemonSets and Jobs (pods per node, to completion); StatefulSets have
`statefulsets`.

Registered in `controllers.CONTROLLERS`; each runs for one object and returns whether it changed
anything.
"""

from __future__ import annotations

from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso
from opsgate.sandbox.controllers import events, scheduler
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


def reconcile_job(store: Store, job: Obj) -> bool:
    """Run a Job's pods to completion at once (completions, default 1) and mark it Complete."""
    if job.get("status", {}).get("completionTime"):
        return False
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    if not job["spec"].get("selector"):
        # The API server's defaulting: the Job selects its pods by its own uid.
        uid = job["metadata"]["uid"]
        job["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        labels = (
            job["spec"]
            .setdefault("template", {})
            .setdefault("metadata", {})
            .setdefault("labels", {})
        )
        labels.update(
            {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name}
        )
        job = store.put("jobs.batch", job)
    completions = int(job["spec"].get("completions", 1))
    found = owned_pods(store, job)
    for _ in range(completions - len(found)):
        template = clone(job["spec"]["template"])
        template.setdefault("spec", {})["restartPolicy"] = template["spec"].get(
            "restartPolicy", "Never"
        )
        pod_name = f"{name}-{scheduler.random_suffix()}"
        found.append(
            scheduler.start_pod(
                store, scheduler.pod_from_template(template, pod_name, namespace, job)
            )
        )
        events.record(
            store, job, "SuccessfulCreate", f"Created pod: {pod_name}", component="job-controller"
        )
    succeeded = sum(1 for p in found if p.get("status", {}).get("phase") == "Succeeded")
    now = now_iso()
    status: Obj = {
        "startTime": job.get("status", {}).get("startTime", now),
        "active": len(found) - succeeded,
    }
    if succeeded >= completions:
        status.update(succeeded=succeeded, completionTime=now, active=0)
        status["conditions"] = [
            {"type": t, "status": "True", "lastProbeTime": now, "lastTransitionTime": now}
            for t in ("SuccessCriteriaMet", "Complete")
        ]
        events.record(store, job, "Completed", "Job completed", component="job-controller")
    status = {k: v for k, v in status.items() if v != 0}
    fresh = store.get("jobs.batch", namespace, name)
    return fresh is not None and save_if_changed(
        store, "jobs.batch", fresh, {**fresh, "status": status}
    )
