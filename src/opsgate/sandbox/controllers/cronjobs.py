"""The CronJob controller: a Job when the schedule comes round, and the history it keeps.

Registered in `loop.CONTROLLERS`; the server's tick moves the clock. When a scheduled minute
has passed since the last one run (or since the CronJob was made), it creates the Job
`<name>-<minutes since the epoch>` from `jobTemplate` (only the latest missed run, as the real
controller does after a pause), honouring `suspend` and `concurrencyPolicy` (`Forbid` skips
while one is active, `Replace` deletes it first). It keeps `status.active`,
`lastScheduleTime` and `lastSuccessfulTime`, and deletes finished Jobs beyond
`successfulJobsHistoryLimit` (3) and `failedJobsHistoryLimit` (1). Schedules are read in UTC
(`timeZone` is not applied).
"""

from __future__ import annotations

from datetime import UTC, datetime

from opsgate.sandbox.apiserver import cron
from opsgate.sandbox.apiserver.store import Obj, Store, clone, parse_time
from opsgate.sandbox.controllers import events, scheduler
from opsgate.sandbox.controllers.owners import owned_by

KEY = "cronjobs.batch"
JOBS = "jobs.batch"
COMPONENT = "cronjob-controller"
SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _finished(job: Obj) -> str | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return str(condition["type"])
    return None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _due(cronjob: Obj, now: datetime) -> datetime | None:
    """The latest scheduled minute not yet run, if one has come."""
    try:
        schedule = cron.parse(str((cronjob.get("spec") or {}).get("schedule", "")))
    except cron.ScheduleError:
        return None
    status = cronjob.get("status") or {}
    since = parse_time(
        status.get("lastScheduleTime") or cronjob["metadata"].get("creationTimestamp")
    )
    due = None
    moment = schedule.next_after(since)
    while moment is not None and moment <= now:
        due, moment = moment, schedule.next_after(moment)
    return due


def _make_job(store: Store, cronjob: Obj, when: datetime) -> Obj:
    meta = cronjob["metadata"]
    name = f"{meta['name']}-{int(when.timestamp() // 60)}"
    existing = store.get(JOBS, meta.get("namespace", ""), name)
    if existing is not None:
        return existing  # this run was made already (the name is the scheduled minute)
    template = clone((cronjob.get("spec") or {}).get("jobTemplate") or {})
    job_meta = template.get("metadata") or {}
    job: Obj = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace", ""),
            "labels": dict(job_meta.get("labels") or {}),
            "annotations": {**(job_meta.get("annotations") or {}), SCHEDULED: _iso(when)},
            "ownerReferences": [scheduler.owner_reference(cronjob)],
        },
        "spec": template.get("spec") or {},
    }
    made = store.put(JOBS, job)
    events.record(store, cronjob, "SuccessfulCreate", f"Created job {name}", component=COMPONENT)
    return made


def _trim(store: Store, cronjob: Obj, finished: list[Obj], kind: str, keep: int) -> None:
    done = sorted(
        (j for j in finished if _finished(j) == kind),
        key=lambda j: j["metadata"].get("creationTimestamp", ""),
    )
    for job in done[: max(len(done) - keep, 0)]:
        name = job["metadata"]["name"]
        store.delete(JOBS, job["metadata"].get("namespace", ""), name)
        events.record(
            store, cronjob, "SuccessfulDelete", f"Deleted job {name}", component=COMPONENT
        )


def reconcile_cronjob(store: Store, cronjob: Obj) -> bool:
    """One pass over one CronJob."""
    spec, meta = cronjob.get("spec") or {}, cronjob["metadata"]
    namespace = meta.get("namespace", "")
    jobs = [j for j in store.scan(JOBS, namespace) if owned_by(j, cronjob)]
    active = [j for j in jobs if _finished(j) is None]
    finished = [j for j in jobs if _finished(j) is not None]
    status = dict(cronjob.get("status") or {})
    now = datetime.now(UTC)
    due = None if spec.get("suspend") else _due(cronjob, now)
    if due is not None:
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            due = None
        else:
            if policy == "Replace":
                for job in active:
                    store.delete(JOBS, namespace, job["metadata"]["name"])
                active = []
            made = _make_job(store, cronjob, due)
            if all(j["metadata"]["name"] != made["metadata"]["name"] for j in jobs):
                active.append(made)
            status["lastScheduleTime"] = _iso(due)
    for job in finished:
        when = (job.get("status") or {}).get("completionTime")
        if _finished(job) == "Complete" and when and when > status.get("lastSuccessfulTime", ""):
            status["lastSuccessfulTime"] = when
            name = job["metadata"]["name"]
            message = f"Saw completed job: {name}, condition: Complete"
            events.record(store, cronjob, "SawCompletedJob", message, component=COMPONENT)
    _trim(store, cronjob, finished, "Complete", int(spec.get("successfulJobsHistoryLimit", 3)))
    _trim(store, cronjob, finished, "Failed", int(spec.get("failedJobsHistoryLimit", 1)))
    refs = [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": j["metadata"]["name"],
            "namespace": namespace,
            "uid": j["metadata"].get("uid", ""),
        }
        for j in active
    ]
    status.pop("active", None)
    if refs:
        status["active"] = refs
    fresh = store.get(KEY, namespace, meta["name"])
    if fresh is None or (fresh.get("status") or {}) == status:
        return due is not None
    store.put(KEY, {**fresh, "status": status})
    return True
