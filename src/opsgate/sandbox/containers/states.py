"""The container simulation: what a container does and how each of its states looks.

Called by `kubelet`, one container at a time, with the pod, the world and the clock;
`programs` says how each container's run ends. The rules are in `kubelet`'s docstring;
this module builds the container status the API shows and the events the kubelet owes for it.
Back-offs follow the kubelet's: 10 s, doubling, at most 5 min.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsgate.sandbox.apiserver.store import Obj, Store, parse_time
from opsgate.sandbox.containers import addons, images, programs, references
from opsgate.sandbox.controllers import events

BEHAVIOR_ANNOTATION = programs.BEHAVIOR_ANNOTATION
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
class PodContext:
    """What every container of one kubelet pass over a pod needs to know."""

    store: Store
    pod: Obj
    now: datetime
    anchor: datetime
    """Since when the pod is not Ready (now when it is): back-offs count from here."""

    @property
    def namespace(self) -> str:
        return str(self.pod["metadata"].get("namespace", ""))


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def image_is_bad(image: str) -> bool:
    """Whether the simulated registry refuses this image: its tag contains `bad` or
    `doesnotexist`, or it is a near miss of a known library image (`ngnix`)."""
    name = image.rsplit("/", 1)[-1]
    tag = name.split(":", 1)[1] if ":" in name else ""
    return "bad" in tag or "doesnotexist" in tag or images.misspelt(image)


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


def digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _image_id(image: str) -> str:
    name, _, tag = image.rpartition(":")
    repository = name if name and "/" not in tag else image
    return f"{repository}@sha256:{digest(image)}"


def blank(container: Obj, restarts: int = 0) -> Obj:
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


def created(ctx: PodContext, container: Obj, status: Obj, run: int) -> Obj:
    status["imageID"] = _image_id(status["image"])
    uid = ctx.pod["metadata"].get("uid", "")
    status["containerID"] = f"containerd://{digest(uid, status['name'], str(run))}"
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
class Episode:
    """Attempts of one failing episode: how many so far, since when, the latest when."""

    attempts: int
    since: datetime
    latest: datetime

    @classmethod
    def of(cls, ctx: PodContext) -> Episode:
        attempts, latest = retries(1, ctx.anchor, ctx.now)
        return cls(attempts, ctx.anchor, latest)

    def occurrence(
        self, reason: str, message: str, kind: events.EventType = "Normal"
    ) -> Occurrence:
        return Occurrence(reason, message, kind, self.attempts, iso(self.since), iso(self.latest))


def _pull_failure(ctx: PodContext, container: Obj, restarts: int) -> tuple[Obj, list[Occurrence]]:
    image = container.get("image", "")
    episode = Episode.of(ctx)
    backing_off = (ctx.now - ctx.anchor).total_seconds() >= ERR_IMAGE_PULL_S
    error = (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
        f'failed to resolve reference "{image}": {image}: not found'
    )
    status = blank(container, restarts)
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
    ctx: PodContext, container: Obj, restarts: int, message: str
) -> tuple[Obj, list[Occurrence]]:
    episode = Episode.of(ctx)
    status = blank(container, restarts)
    status["state"] = {"waiting": {"reason": "CreateContainerConfigError", "message": message}}
    image = container.get("image", "")
    return status, [
        episode.occurrence("Pulled", f'Container image "{image}" already present on machine'),
        episode.occurrence("Failed", f"Error: {message}", "Warning"),
    ]


def _crash_loop(
    ctx: PodContext, container: Obj, old: Obj | None, end: programs.Outcome
) -> tuple[Obj, list[Occurrence]]:
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
    status = created(ctx, container, blank(container, restarts), restarts)
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
            "exitCode": end.exit_code,
            "reason": end.reason,
            "startedAt": iso(latest),
            "finishedAt": iso(latest),
            "containerID": status["containerID"],
        }
    }
    image, latest_at = container.get("image", ""), iso(latest)
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


def _runs(ctx: PodContext, container: Obj, old: Obj | None) -> tuple[Obj, list[Occurrence]]:
    """A container that starts now: it serves (Ready), finishes, or crashes."""
    end = programs.outcome(ctx.store, ctx.pod, container)
    if end.fate == "crash" and ctx.pod.get("spec", {}).get("restartPolicy") != "Never":
        return _crash_loop(ctx, container, old, end)
    started = iso(ctx.now)
    status = created(ctx, container, blank(container, (old or {}).get("restartCount", 0)), 0)
    if end.fate == "serve":
        status.update(ready=True, started=True, state={"running": {"startedAt": started}})
    else:
        if end.fate == "complete":
            addons.completed(ctx.store, ctx.pod, container)
        status["state"] = {
            "terminated": {
                "exitCode": end.exit_code,
                "reason": end.reason,
                "startedAt": started,
                "finishedAt": started,
                "containerID": status["containerID"],
            }
        }
    return status, _start_events(container, old, started)


def container_status(
    ctx: PodContext, container: Obj, old: Obj | None, mount: tuple[str, str] | None
) -> tuple[Obj, list[Occurrence]]:
    """One container's status this pass, and the events it owes."""
    if mount is not None:
        status = blank(container)
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
    message = references.config_error(ctx.store, ctx.namespace, container)
    if message is not None:
        return _config_failure(ctx, container, restarts, message)
    return _runs(ctx, container, old)
