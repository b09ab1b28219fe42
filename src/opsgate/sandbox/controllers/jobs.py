"""The Job controller: pods run to completion, failed ones retried up to `backoffLimit`.

Registered in `controllers.CONTROLLERS` (`loop`); runs for one Job and returns whether it
changed anything. A Job makes `completions` pods (default 1); each Succeeded pod counts toward
them. A Failed pod (`restartPolicy: Never`) is replaced after the controller's back-off (10 s,
doubling, at most 6 min, from the last failure); with `OnFailure` the kubelet restarts the
container in place and each restart counts as a failure. Once failures exceed `backoffLimit`
(default 6) the Job's running pods are deleted and it gets the `FailureTarget` and `Failed`
conditions with reason `BackoffLimitExceeded`, as the real job-controller reports them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso, parse_time
from opsgate.sandbox.controllers import events, scheduler
from opsgate.sandbox.controllers.owners import owned_pods, pod_counts, save_if_changed

FIRST_RETRY_S = 10
MAX_RETRY_S = 360
LIMIT_MESSAGE = "Job has reached the specified backoff limit"


def _phase(pod: Obj) -> str:
    return str(pod.get("status", {}).get("phase", "Pending"))


def _restarts(pod: Obj) -> int:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount", 0)) for s in statuses)


def _finished_at(pod: Obj) -> datetime:
    """When a failed pod's last container ended (its creation when none says)."""
    ends = [
        parse_time(s["state"]["terminated"]["finishedAt"])
        for s in pod.get("status", {}).get("containerStatuses") or []
        if (s.get("state", {}).get("terminated") or {}).get("finishedAt")
    ]
    return max(ends) if ends else parse_time(pod["metadata"].get("creationTimestamp"))


def _retry_due(failed: list[Obj], now: datetime) -> bool:
    """Whether the back-off after the latest failure has passed (10 s, 20 s, ... 6 min)."""
    if not failed:
        return True
    delay = min(FIRST_RETRY_S * 2 ** (len(failed) - 1), MAX_RETRY_S)
    return now >= max(_finished_at(p) for p in failed) + timedelta(seconds=delay)


def _select_own_pods(store: Store, job: Obj) -> Obj:
    """The API server's defaulting of a Job without a selector: it selects by its own uid."""
    if job["spec"].get("selector"):
        return job
    uid, name = job["metadata"]["uid"], job["metadata"]["name"]
    job["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = job["spec"].setdefault("template", {}).setdefault("metadata", {})
    labels = labels.setdefault("labels", {})
    # The legacy `job-name` and `controller-uid` labels too: `kubectl get pods -l job-name=x`.
    for prefix in ("batch.kubernetes.io/", ""):
        labels.update({f"{prefix}controller-uid": uid, f"{prefix}job-name": name})
    return store.put("jobs.batch", job)


def _start(store: Store, job: Obj) -> Obj:
    template = clone(job["spec"]["template"])
    spec = template.setdefault("spec", {})
    spec["restartPolicy"] = spec.get("restartPolicy", "Never")
    name = f"{job['metadata']['name']}-{scheduler.random_suffix()}"
    pod = scheduler.pod_from_template(template, name, job["metadata"]["namespace"], job)
    made = scheduler.start_pod(store, pod)
    events.record(
        store, job, "SuccessfulCreate", f"Created pod: {name}", component="job-controller"
    )
    return made


def _conditions(kinds: tuple[str, ...], now: str, reason: str = "", message: str = "") -> list[Obj]:
    out = []
    for kind in kinds:
        condition: Obj = {"type": kind, "status": "True"}
        if reason:
            condition.update(reason=reason, message=message)
        out.append({**condition, "lastProbeTime": now, "lastTransitionTime": now})
    return out


def _fail(store: Store, job: Obj, running: list[Obj], failed: int, now: str) -> Obj:
    """Stop a Job past its backoff limit: delete its running pods, mark it Failed."""
    namespace = job["metadata"]["namespace"]
    for pod in running:
        store.delete("pods", namespace, pod["metadata"]["name"])
        events.record(
            store,
            job,
            "SuccessfulDelete",
            f"Deleted pod: {pod['metadata']['name']}",
            component="job-controller",
        )
    events.record(
        store, job, "BackoffLimitExceeded", LIMIT_MESSAGE, "Warning", component="job-controller"
    )
    kinds = ("FailureTarget", "Failed")
    return {
        "failed": failed + len(running),
        "conditions": _conditions(kinds, now, "BackoffLimitExceeded", LIMIT_MESSAGE),
    }


def reconcile_job(store: Store, job: Obj) -> bool:
    """Run a Job's pods to completion, retry failed ones, and mark it Complete or Failed."""
    st = job.get("status", {})
    finished = any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in st.get("conditions") or []
    )
    if st.get("completionTime") or finished:
        return False
    job = _select_own_pods(store, job)
    namespace, name = job["metadata"]["namespace"], job["metadata"]["name"]
    completions = int(job["spec"].get("completions", 1))
    limit = int(job["spec"].get("backoffLimit", 6))
    found = owned_pods(store, job)
    succeeded = [p for p in found if _phase(p) == "Succeeded"]
    failed = [p for p in found if _phase(p) == "Failed"]
    running = [p for p in found if _phase(p) not in ("Succeeded", "Failed")]
    now, stamp = datetime.now(UTC), now_iso()
    status: Obj = {"startTime": st.get("startTime", stamp)}
    if len(failed) + sum(_restarts(p) for p in running) > limit:
        status.update(_fail(store, job, running, len(failed), stamp))
    else:
        missing = completions - len(succeeded) - len(running)
        if missing > 0 and _retry_due(failed, now):
            running += [_start(store, job) for _ in range(missing)]
        status.update(active=len(running), ready=pod_counts(running)[1], failed=len(failed))
        if len(succeeded) >= completions:
            status.update(succeeded=len(succeeded), completionTime=stamp, active=0)
            status["conditions"] = _conditions(("SuccessCriteriaMet", "Complete"), stamp)
            events.record(store, job, "Completed", "Job completed", component="job-controller")
        elif succeeded:
            status["succeeded"] = len(succeeded)
    status = {k: v for k, v in status.items() if v != 0}
    # Pointer fields the real controller always writes (`kubectl describe` prints "(0 Ready)").
    status.update(ready=status.get("ready", 0), terminating=0, uncountedTerminatedPods={})
    fresh = store.get("jobs.batch", namespace, name)
    return fresh is not None and save_if_changed(
        store, "jobs.batch", fresh, {**fresh, "status": status}
    )
