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
- a template annotated `sandbox.opsgate.dev/behavior: CrashLoopBackOff` crashes as it starts and
  is restarted after 10 s, 20 s, 40 s... at most 5 min apart (`restartCount` grows, `lastState`
  is the exit code 1, `BackOff` warnings); with `restartPolicy: Never` the pod fails instead;
- Job pods run to completion; every other container runs and is Ready.

A pass derives the state from the pod, the world and the clock (back-offs count from the Ready
condition's last transition), writes only what moved, and fixing the cause (creating the Secret,
a good image) lets the pod start on the next pass. Crashing containers are never Ready, so a
rollout of them stalls as one without readiness probes would between crashes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from opsgate.sandbox import events
from opsgate.sandbox.store import Obj, Store, clone, parse_time

BEHAVIOR_ANNOTATION = "sandbox.opsgate.dev/behavior"
FIRST_BACKOFF_S = 10
MAX_BACKOFF_S = 300
ERR_IMAGE_PULL_S = 2
"""How long a failed first pull shows `ErrImagePull` before the back-off (`ImagePullBackOff`)."""
NOT_STARTED = (
    "ContainerCreating",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
)
"""Waiting reasons of a container that has not started: its pod is still Pending."""
_UNPULLED = ("ContainerCreating", "ErrImagePull", "ImagePullBackOff")
Program = Literal["serve", "crash", "complete"]
"""What a container does once it runs: serve until stopped, crash at once, or finish."""


@dataclass(frozen=True)
class Occurrence:
    """An event the kubelet owes: `count` occurrences so far, the last one at `last`."""

    reason: str
    message: str
    type: events.EventType = "Normal"
    count: int = 1
    first: str | None = None
    last: str | None = None
    series: str = ""


@dataclass(frozen=True)
class _Pod:
    """What every container of one pass needs to know."""

    store: Store
    pod: Obj
    now: datetime
    anchor: datetime
    """Since when the pod is not Ready (now when it is): back-offs count from here."""
    program: Program

    @property
    def namespace(self) -> str:
        return str(self.pod["metadata"].get("namespace", ""))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_is_bad(image: str) -> bool:
    """Whether the simulated registry refuses this image (tag contains `bad`/`doesnotexist`)."""
    name = image.rsplit("/", 1)[-1]
    tag = name.split(":", 1)[1] if ":" in name else ""
    return "bad" in tag or "doesnotexist" in tag


def program(pod: Obj) -> Program:
    """What the pod's containers do once they run (the behaviour annotation, or a Job's)."""
    annotations = pod.get("metadata", {}).get("annotations") or {}
    if annotations.get(BEHAVIOR_ANNOTATION) == "CrashLoopBackOff":
        return "crash"
    refs = pod.get("metadata", {}).get("ownerReferences") or []
    if any(ref.get("kind") == "Job" for ref in refs):
        return "complete"
    return "serve"


def backoff_s(retry: int) -> int:
    """The wait before retry number `retry` (from 1): 10 s, doubling, at most 5 min."""
    return MAX_BACKOFF_S if retry > 6 else min(FIRST_BACKOFF_S * 2 ** (retry - 1), MAX_BACKOFF_S)


def go_duration(seconds: int) -> str:
    """A duration as Go prints one (`10s`, `2m40s`, `5m0s`), as in kubelet messages."""
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def retries(count: int, last: datetime, now: datetime) -> tuple[int, datetime]:
    """After attempt number `count` at `last`, how many attempts the back-off allows by `now`,
    and when the latest began."""
    while True:
        delay = backoff_s(count)
        if delay >= MAX_BACKOFF_S:
            steps = max(int((now - last).total_seconds() // delay), 0)
            return count + steps, last + timedelta(seconds=delay * steps)
        if last + timedelta(seconds=delay) > now:
            return count, last
        last += timedelta(seconds=delay)
        count += 1


def _keys(store: Store, kind: str, namespace: str, name: str) -> set[str] | None:
    """The keys of a Secret or ConfigMap, or None when it does not exist."""
    if kind == "Secret":
        secret = store.peek("secrets", namespace, name)
        return None if secret is None else set(secret.get("data") or {})
    config = store.peek("configmaps", namespace, name)
    return (
        None if config is None else {*(config.get("data") or {}), *(config.get("binaryData") or {})}
    )


def _not_found(kind: str, name: str) -> str:
    return f'{kind.lower()} "{name}" not found'


def config_error(store: Store, namespace: str, container: Obj) -> str | None:
    """Why the kubelet cannot build a container's environment (its message), or None.

    `envFrom` is read before `env`, as the kubelet does; `optional` references may be missing.
    """
    for source in container.get("envFrom") or []:
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = source.get(field)
            if ref is None or ref.get("optional"):
                continue
            if _keys(store, kind, namespace, ref.get("name", "")) is None:
                return _not_found(kind, ref.get("name", ""))
    for variable in container.get("env") or []:
        value_from = variable.get("valueFrom") or {}
        for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = value_from.get(field)
            if ref is None or ref.get("optional"):
                continue
            name, key = ref.get("name", ""), ref.get("key", "")
            keys = _keys(store, kind, namespace, name)
            if keys is None:
                return _not_found(kind, name)
            if key not in keys:
                return f"couldn't find key {key} in {kind} {namespace}/{name}"
    return None


def mount_error(store: Store, pod: Obj) -> tuple[str, str] | None:
    """The first volume the kubelet cannot set up, and why; None when all can be mounted."""
    namespace = pod["metadata"].get("namespace", "")
    for volume in pod.get("spec", {}).get("volumes") or []:
        sources: list[tuple[str, str, Obj]] = []
        if "secret" in volume:
            sources.append(("Secret", volume["secret"].get("secretName", ""), volume["secret"]))
        if "configMap" in volume:
            sources.append(("ConfigMap", volume["configMap"].get("name", ""), volume["configMap"]))
        for projected in (volume.get("projected") or {}).get("sources") or []:
            for field, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                if field in projected:
                    sources.append((kind, projected[field].get("name", ""), projected[field]))
        for kind, name, source in sources:
            if source.get("optional"):
                continue
            keys = _keys(store, kind, namespace, name)
            if keys is None:
                return volume.get("name", ""), _not_found(kind, name)
            for item in source.get("items") or []:
                if item.get("key") not in keys:
                    what = "secret" if kind == "Secret" else "config"
                    prefix = "" if kind == "Secret" else "configmap "
                    return volume.get("name", ""), (
                        f"{prefix}references non-existent {what} key: {item.get('key')}"
                    )
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _image_id(image: str) -> str:
    name, _, tag = image.rpartition(":")
    repository = name if name and "/" not in tag else image
    return f"{repository}@sha256:{_digest(image)}"


def _blank(container: Obj, restarts: int = 0) -> Obj:
    return {
        "name": container.get("name", ""),
        "image": container.get("image", ""),
        "imageID": "",
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "lastState": {},
        "state": {},
    }


def _created(ctx: _Pod, container: Obj, status: Obj, run: int) -> Obj:
    status["imageID"] = _image_id(status["image"])
    uid = ctx.pod["metadata"].get("uid", "")
    status["containerID"] = f"containerd://{_digest(uid, status['name'], str(run))}"
    return status


def _start_events(container: Obj, old: Obj | None, series: str) -> list[Occurrence]:
    """Pulling (unless this image is already on the node), Created and Started."""
    image, name = container.get("image", ""), container.get("name", "")
    waiting = (old or {}).get("state", {}).get("waiting", {}).get("reason")
    present = old is not None and old.get("image") == image and waiting not in _UNPULLED
    if present:
        pulled = [Occurrence("Pulled", f'Container image "{image}" already present on machine')]
    else:
        pulled = [
            Occurrence("Pulling", f'Pulling image "{image}"', series=series),
            Occurrence("Pulled", f'Successfully pulled image "{image}"', series=series),
        ]
    return [
        *pulled,
        Occurrence("Created", f"Created container: {name}", series=series),
        Occurrence("Started", f"Started container {name}", series=series),
    ]


@dataclass(frozen=True)
class _Episode:
    """Attempts of one failing episode: how many so far, since when, the latest when."""

    attempts: int
    since: datetime
    latest: datetime

    @classmethod
    def of(cls, ctx: _Pod) -> _Episode:
        attempts, latest = retries(1, ctx.anchor, ctx.now)
        return cls(attempts, ctx.anchor, latest)

    def occurrence(
        self, reason: str, message: str, kind: events.EventType = "Normal"
    ) -> Occurrence:
        return Occurrence(reason, message, kind, self.attempts, _iso(self.since), _iso(self.latest))


def _pull_failure(ctx: _Pod, container: Obj, restarts: int) -> tuple[Obj, list[Occurrence]]:
    image = container.get("image", "")
    episode = _Episode.of(ctx)
    backing_off = (ctx.now - ctx.anchor).total_seconds() >= ERR_IMAGE_PULL_S
    error = (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
        f'failed to resolve reference "{image}": {image}: not found'
    )
    status = _blank(container, restarts)
    back_off = f'Back-off pulling image "{image}"'
    if backing_off:
        status["state"] = {"waiting": {"reason": "ImagePullBackOff", "message": back_off}}
    else:
        status["state"] = {"waiting": {"reason": "ErrImagePull", "message": error}}
    owed = [
        episode.occurrence("Pulling", f'Pulling image "{image}"'),
        episode.occurrence("Failed", f'Failed to pull image "{image}": {error}', "Warning"),
        episode.occurrence("Failed", "Error: ErrImagePull", "Warning"),
    ]
    if backing_off:
        owed += [
            episode.occurrence("BackOff", back_off),
            episode.occurrence("Failed", "Error: ImagePullBackOff", "Warning"),
        ]
    return status, owed


def _config_failure(
    ctx: _Pod, container: Obj, restarts: int, message: str
) -> tuple[Obj, list[Occurrence]]:
    episode = _Episode.of(ctx)
    status = _blank(container, restarts)
    status["state"] = {"waiting": {"reason": "CreateContainerConfigError", "message": message}}
    image = container.get("image", "")
    return status, [
        episode.occurrence("Pulled", f'Container image "{image}" already present on machine'),
        episode.occurrence("Failed", f"Error: {message}", "Warning"),
    ]


def _crash_loop(ctx: _Pod, container: Obj, old: Obj | None) -> tuple[Obj, list[Occurrence]]:
    """A container restarted after each crash, its back-off growing (never Ready)."""
    meta = ctx.pod["metadata"]
    name = container.get("name", "")
    crashed = (old or {}).get("lastState", {}).get("terminated") or {}
    waiting = (old or {}).get("state", {}).get("waiting") or {}
    if waiting.get("reason") == "CrashLoopBackOff" and crashed.get("finishedAt"):
        restarts, latest = retries(
            int(old.get("restartCount", 1)) if old else 1,
            parse_time(crashed["finishedAt"]),
            ctx.now,
        )
    else:
        # The first run crashes and its immediate restart too: the back-off starts at once.
        restarts, latest = 1, ctx.now
    status = _created(ctx, container, _blank(container, restarts), restarts)
    pod_ref = f"{meta['name']}_{meta.get('namespace', '')}({meta.get('uid', '')})"
    status["state"] = {
        "waiting": {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {go_duration(backoff_s(restarts))} restarting failed "
            f"container={name} pod={pod_ref}",
        }
    }
    status["lastState"] = {
        "terminated": {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": _iso(latest),
            "finishedAt": _iso(latest),
            "containerID": status["containerID"],
        }
    }
    image, latest_at = container.get("image", ""), _iso(latest)
    return status, [
        Occurrence("Pulling", f'Pulling image "{image}"'),
        Occurrence("Pulled", f'Successfully pulled image "{image}"'),
        Occurrence(
            "Pulled",
            f'Container image "{image}" already present on machine',
            count=restarts,
            last=latest_at,
        ),
        Occurrence("Created", f"Created container: {name}", count=restarts + 1, last=latest_at),
        Occurrence("Started", f"Started container {name}", count=restarts + 1, last=latest_at),
        Occurrence(
            "BackOff",
            f"Back-off restarting failed container {name} in pod {pod_ref}",
            "Warning",
            count=restarts,
            last=latest_at,
        ),
    ]


def _runs(ctx: _Pod, container: Obj, old: Obj | None) -> tuple[Obj, list[Occurrence]]:
    """A container that starts now: it serves (Ready), finishes, or crashes."""
    if ctx.program == "crash" and ctx.pod.get("spec", {}).get("restartPolicy") != "Never":
        return _crash_loop(ctx, container, old)
    started = _iso(ctx.now)
    status = _created(ctx, container, _blank(container, (old or {}).get("restartCount", 0)), 0)
    if ctx.program == "serve":
        status.update(ready=True, started=True, state={"running": {"startedAt": started}})
    else:
        code = 0 if ctx.program == "complete" else 1
        status["state"] = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started,
                "finishedAt": started,
                "containerID": status["containerID"],
            }
        }
    return status, _start_events(container, old, started)


def _container(
    ctx: _Pod, container: Obj, old: Obj | None, mount: tuple[str, str] | None
) -> tuple[Obj, list[Occurrence]]:
    """One container's status this pass, and the events it owes."""
    if mount is not None:
        status = _blank(container)
        status["state"] = {"waiting": {"reason": "ContainerCreating"}}
        return status, []
    image = container.get("image", "")
    state = (old or {}).get("state", {})
    if (
        old is not None
        and old.get("image") == image
        and ("running" in state or "terminated" in state)
    ):
        # Started once: the kubelet resolved its environment then and leaves it running.
        return old, []
    restarts = int((old or {}).get("restartCount", 0))
    if image_is_bad(image):
        return _pull_failure(ctx, container, restarts)
    message = config_error(ctx.store, ctx.namespace, container)
    if message is not None:
        return _config_failure(ctx, container, restarts, message)
    return _runs(ctx, container, old)


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
        same = before is not None and before.get("status") == status
        condition["lastTransitionTime"] = before.get("lastTransitionTime", now) if same else now  # type: ignore[union-attr]
        condition["lastProbeTime"] = None
        out.append(condition)
    return out


def _phase(statuses: list[Obj], mounting: bool) -> str:
    states = [s["state"] for s in statuses]
    if mounting or any(st.get("waiting", {}).get("reason") in NOT_STARTED for st in states):
        return "Pending"
    if states and all("terminated" in st for st in states):
        codes = {st["terminated"].get("exitCode") for st in states}
        return "Succeeded" if codes == {0} else "Failed"
    return "Running"


def _pod_ip(pod: Obj, node: Obj) -> str:
    prefix = str(node.get("spec", {}).get("podCIDR", "10.244.0.0/24")).rsplit(".", 1)[0]
    return f"{prefix}.{int(_digest(pod['metadata'].get('uid', ''))[:8], 16) % 250 + 2}"


def pod_status(store: Store, pod: Obj, node: Obj, now: datetime) -> tuple[Obj, list[Occurrence]]:
    """The status of a pod on `node` at `now`, and the events the kubelet owes for it."""
    old: Obj = pod.get("status") or {}
    ready_before = next((c for c in old.get("conditions", []) if c.get("type") == "Ready"), None)
    anchor = now
    if ready_before is not None and ready_before.get("status") != "True":
        anchor = parse_time(ready_before.get("lastTransitionTime"))
    ctx = _Pod(store, pod, now, anchor, program(pod))
    previous = {s.get("name"): s for s in old.get("containerStatuses", [])}
    started = any(s.get("containerID") for s in previous.values())
    # Volumes are set up once, before any container starts.
    mount = None if started else mount_error(store, pod)
    statuses, owed = [], []
    for container in pod.get("spec", {}).get("containers", []):
        state, more = _container(ctx, container, previous.get(container.get("name")), mount)
        statuses.append(state)
        owed += more
    if mount is not None:
        episode = _Episode.of(ctx)
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
    stamp = _iso(now)
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
        "qosClass": "BestEffort",
    }
    if mount is None:
        ip = _pod_ip(pod, node)
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
