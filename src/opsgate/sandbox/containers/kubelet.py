"""The simulated kubelet: what each container of a scheduled pod does, and the events it reports.

`pods.start_pod` runs it when a pod lands on a node and `controllers` on every pass (the
server's one-second tick moves the clock on), so container states follow the world and the
time as on a real node. The problems it meets, in the kubelet's order:

- a Secret or ConfigMap volume whose object (or listed key) is missing, not `optional`: the
  pod stays `ContainerCreating` with `FailedMount` warnings;
- an image whose tag contains `bad` or `doesnotexist` never pulls: `ErrImagePull` for the first
  seconds, then `ImagePullBackOff`, retried with back-off (`Failed` warnings, `BackOff`);
- `env[].valueFrom` or `envFrom[]` naming a missing Secret/ConfigMap (or key), not `optional`:
  `CreateContainerConfigError` with the kubelet's message (`secret "api-db" not found`);
- a container whose run ends badly (`programs`: the CrashLoopBackOff annotation, a memory
  need above its limit (`OOMKilled`), a known image missing its required variables, `exit N`)
  crashes as it starts and is restarted after 10 s, 20 s, 40 s... at most 5 min apart
  (`restartCount` grows, `lastState` holds the exit code and reason, `BackOff` warnings); with
  `restartPolicy: Never` the pod fails instead;
- Job pods run to completion; every other container runs, and is Ready unless its readiness
  probe fails (`probes`: a path or port the simulated process does not serve); a failing
  liveness or startup probe kills each run and the container is restarted (`restarts`).

A pass derives the state from the pod, the world and the clock (back-offs count from the Ready
condition's last transition), writes only what moved, and fixing the cause (creating the Secret,
a good image) lets the pod start on the next pass. Crashing containers are never Ready, so a
rollout of them stalls as one without readiness probes would between crashes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from opsgate.sandbox.apiserver.store import Obj, Store, clone, parse_time
from opsgate.sandbox.containers import probes, references, restarts, states
from opsgate.sandbox.controllers import events


def _conditions(old: list[Obj], now: str, **states: tuple[bool, str, str]) -> list[Obj]:
    """Pod conditions in the kubelet's order, keeping the transition time of those unchanged."""
    previous = {c.get("type"): c for c in old}
    out = []
    for kind, (flag, reason, message) in states.items():
        status = "True" if flag else "False"
        before = previous.get(kind)
        condition: Obj = {"type": kind, "status": status}
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        kept = (
            before.get("lastTransitionTime") if before and before.get("status") == status else None
        )
        condition["lastTransitionTime"] = kept or now
        condition["lastProbeTime"] = None
        out.append(condition)
    return out


def _phase(statuses: list[Obj], mounting: bool) -> str:
    found = [s["state"] for s in statuses]
    if mounting or any(st.get("waiting", {}).get("reason") in states.NOT_STARTED for st in found):
        return "Pending"
    if found and all("terminated" in st for st in found):
        codes = {st["terminated"].get("exitCode") for st in found}
        return "Succeeded" if codes == {0} else "Failed"
    return "Running"


def qos_class(pod: Obj) -> str:
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = (pod.get("spec") or {}).get("containers") or []
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"


def _pod_ip(pod: Obj, node: Obj) -> str:
    prefix = str(node.get("spec", {}).get("podCIDR", "10.244.0.0/24")).rsplit(".", 1)[0]
    return f"{prefix}.{int(states.digest(pod['metadata'].get('uid', ''))[:8], 16) % 250 + 2}"


def pod_status(
    store: Store, pod: Obj, node: Obj, now: datetime
) -> tuple[Obj, list[states.Occurrence]]:
    """The status of a pod on `node` at `now`, and the events the kubelet owes for it."""
    old: Obj = pod.get("status") or {}
    ready_before = next((c for c in old.get("conditions", []) if c.get("type") == "Ready"), None)
    anchor = now
    if ready_before is not None and ready_before.get("status") != "True":
        anchor = parse_time(ready_before.get("lastTransitionTime"))
    previous = {s.get("name"): s for s in old.get("containerStatuses", [])}
    started = any(s.get("containerID") for s in previous.values())
    # Volumes are set up once, before any container starts.
    mount = None if started else references.mount_error(store, pod)
    ip = "" if mount is not None else _pod_ip(pod, node)
    # Its containers see the pod's IP from their first run (/etc/hosts, the peers they call).
    running = {**pod, "status": {**old, "podIP": ip, "podIPs": [{"ip": ip}]}} if ip else pod
    ctx = states.PodContext(store, running, now, anchor)
    statuses, owed = [], []
    for container in pod.get("spec", {}).get("containers", []):
        before = previous.get(container.get("name"))
        state, more = states.container_status(ctx, container, before, mount)
        kill = probes.kill(container, ip) if "running" in state["state"] else None
        if kill is not None:
            state, more = restarts.cycle(ctx, container, before, kill)
        if "running" in state["state"]:
            up = kill is None or kill.kind == "Liveness"
            ready, warnings = probes.readiness(container, state, ip, now) if up else (False, [])
            up = up and probes.started(container, state, now)
            state, more = {**state, "ready": ready, "started": up}, [*more, *warnings]
        statuses.append(state)
        owed += more
    if mount is not None:
        episode = states.Episode.of(ctx)
        volume, why = mount
        message = f'MountVolume.SetUp failed for volume "{volume}" : {why}'
        owed.append(episode.occurrence("FailedMount", message, "Warning"))
    phase = _phase(statuses, mount is not None)
    unready = [s["name"] for s in statuses if not s["ready"]]
    ready = not unready
    reason, message = "", ""
    if phase == "Succeeded":
        reason = "PodCompleted"
    elif not ready:
        reason, message = (
            "ContainersNotReady",
            f"containers with unready status: [{' '.join(unready)}]",
        )
    stamp = states.iso(now)
    conditions = _conditions(
        old.get("conditions", []),
        stamp,
        PodReadyToStartContainers=(mount is None, "", ""),
        Initialized=(True, "", ""),
        Ready=(ready, reason, message),
        ContainersReady=(ready, reason, message),
        PodScheduled=(True, "", ""),
    )
    addresses = {a["type"]: a["address"] for a in node.get("status", {}).get("addresses", [])}
    host_ip = addresses.get("InternalIP", "")
    status: Obj = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "startTime": old.get("startTime", stamp),
        "containerStatuses": statuses,
        "qosClass": qos_class(pod),
    }
    if mount is None:
        status.update(podIP=ip, podIPs=[{"ip": ip}])
    return status, owed


def sync(store: Store, pod: Obj) -> bool:
    """Bring one pod on a node up to date (status and events); True when anything was written."""
    node = store.peek("nodes", "", pod.get("spec", {}).get("nodeName", ""))
    if node is None:
        return False
    status, owed = pod_status(store, pod, node, datetime.now(UTC))
    changed = False
    if status != pod.get("status"):
        updated = clone(pod)
        updated["status"] = status
        store.put("pods", updated)
        changed = True
    for item in owed:
        changed |= events.record(
            store,
            pod,
            item.reason,
            item.message,
            item.type,
            count=item.count,
            first=item.first,
            last=item.last,
            series=item.series,
        )
    return changed


def reconcile(store: Store) -> bool:
    """The kubelet's pass over every pod bound to a node; True when anything changed."""
    changed = False
    for pod in store.scan("pods"):
        if pod.get("spec", {}).get("nodeName"):
            changed |= sync(store, pod)
    return changed
