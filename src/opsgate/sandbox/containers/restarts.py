"""Containers killed by their liveness or startup probe, and restarted by the kubelet.

Called by `kubelet` for a container whose process would serve but whose liveness or startup
probe fails (`probes.kill`). Each run lasts until the probe has failed `failureThreshold` times
(`Unhealthy` warnings, then `Killing`: "Container X failed liveness probe, will be
restarted"); the kubelet restarts it at once the first time and then no sooner than its
back-off (10 s, doubling, at most 5 min) after the previous start, so `restartCount` grows and
`CrashLoopBackOff` shows in between when the back-off outlasts a run. The state follows from
the previous status and the clock: the start of the current run and the restarts so far.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opsgate.sandbox.apiserver.store import Obj, parse_time
from opsgate.sandbox.containers import probes, states

KILLED_EXIT_CODE = 137
"""SIGKILL after the grace period: what a process that ignores SIGTERM (PID 1 shells) reports."""


def _gap_s(restarts: int, run_s: int) -> int:
    """From one start to the next: the run, or the back-off if longer (none before the first)."""
    return max(run_s, states.backoff_s(restarts) if restarts else 0)


def _current_run(old: Obj | None, kill: probes.Kill, now: datetime) -> tuple[datetime, int]:
    """When the run described by `old` started, and the restarts before it."""
    state = (old or {}).get("state", {})
    restarts = int((old or {}).get("restartCount", 0))
    if "running" in state:
        return parse_time(state["running"].get("startedAt")), restarts
    ended = ((old or {}).get("lastState", {}).get("terminated") or {}).get("finishedAt")
    if state.get("waiting", {}).get("reason") == "CrashLoopBackOff" and ended:
        return parse_time(ended) - timedelta(seconds=kill.run_s), restarts
    return now, restarts


def _terminated(status: Obj, start: datetime, kill: probes.Kill) -> Obj:
    return {
        "terminated": {
            "exitCode": KILLED_EXIT_CODE,
            "reason": "Error",
            "startedAt": states.iso(start),
            "finishedAt": states.iso(start + timedelta(seconds=kill.run_s)),
            "containerID": status["containerID"],
        }
    }


def cycle(
    ctx: states.PodContext, container: Obj, old: Obj | None, kill: probes.Kill
) -> tuple[Obj, list[states.Occurrence]]:
    """The container's status now, its runs cut short by `kill`, and the events owed."""
    start, restarts = _current_run(old, kill, ctx.now)
    previous: datetime | None = None
    while start + timedelta(seconds=_gap_s(restarts, kill.run_s)) <= ctx.now:
        previous, start = start, start + timedelta(seconds=_gap_s(restarts, kill.run_s))
        restarts += 1
    status = states.created(ctx, container, states.blank(container, restarts), restarts)
    name = container.get("name", "")
    meta = ctx.pod["metadata"]
    pod_ref = f"{meta['name']}_{meta.get('namespace', '')}({meta.get('uid', '')})"
    dead = ctx.now >= start + timedelta(seconds=kill.run_s)
    if previous is not None:
        last = states.created(ctx, container, states.blank(container), restarts - 1)
        status["lastState"] = _terminated(last, previous, kill)
    elif old is not None and old.get("lastState"):
        status["lastState"] = old["lastState"]
    if dead:
        status["lastState"] = _terminated(status, start, kill)
        back_off = states.backoff_s(restarts) if restarts else 0
        status["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off {states.go_duration(back_off)} restarting failed "
                f"container={name} pod={pod_ref}",
            }
        }
    else:
        # `started` and `ready` are the kubelet's to set, from the probes (`kubelet`).
        status["state"] = {"running": {"startedAt": states.iso(start)}}
    failed_now = (
        kill.threshold
        if dead
        else min(
            max(int((ctx.now - start).total_seconds() - kill.delay_s) // kill.period_s + 1, 0),
            kill.threshold,
        )
    )
    failures = restarts * kill.threshold + failed_now
    kills = restarts + (1 if dead else 0)
    latest = states.iso(start)
    image = container.get("image", "")
    owed = [
        states.Occurrence("Pulling", f'Pulling image "{image}"'),
        states.Occurrence("Pulled", f'Successfully pulled image "{image}"'),
        states.Occurrence("Created", f"Created container: {name}", count=restarts + 1, last=latest),
        states.Occurrence("Started", f"Started container {name}", count=restarts + 1, last=latest),
    ]
    if restarts:
        owed.append(
            states.Occurrence(
                "Pulled",
                f'Container image "{image}" already present on machine',
                count=restarts,
                last=latest,
            )
        )
    if failures:
        owed.append(
            states.Occurrence(
                "Unhealthy", f"{kill.kind} probe failed: {kill.why}", "Warning", count=failures
            )
        )
    if kills:
        owed.append(
            states.Occurrence(
                "Killing",
                f"Container {name} failed {kill.kind.lower()} probe, will be restarted",
                count=kills,
            )
        )
    if dead and restarts:
        owed.append(
            states.Occurrence(
                "BackOff",
                f"Back-off restarting failed container {name} in pod {pod_ref}",
                "Warning",
                count=restarts,
            )
        )
    return status, owed
