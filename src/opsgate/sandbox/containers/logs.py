"""Simulated container output for `kubectl logs` (tail, since, timestamps, previous).

Called by `subresources` for the `pods/<name>/log` subresource. The lines follow what the
container does (see `programs`): a crashing container prints its image's or the demo's error
each time it starts, a one-shot command (`oneshot`) what it printed, a known server its startup
lines, healthy containers an access log (with the requests other pods made through exec
`wget`/`curl`), and a container that never started has no logs (the API server's "is waiting to
start" error).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsgate.sandbox.apiserver.store import Obj, Store, parse_time
from opsgate.sandbox.containers import programs

_WAITING_PHRASES = {
    "ErrImagePull": "trying and failing to pull image",
    "ImagePullBackOff": "trying and failing to pull image",
}


class LogError(ValueError):
    """The log request cannot be answered (message as the real API server words it)."""


def _lines(store: Store, pod: Obj, container: Obj, previous: bool) -> list[tuple[datetime, str]]:
    end = programs.outcome(store, pod, container)
    name, image = container.get("name", ""), container.get("image", "")
    started = parse_time(pod["metadata"].get("creationTimestamp"))
    if end.fate == "crash":
        start = datetime.now(UTC) - timedelta(seconds=40 if previous else 5)
        return [(start + timedelta(milliseconds=10 * i), line) for i, line in enumerate(end.lines)]
    if end.fate == "complete" and end.lines:
        return [
            (started + timedelta(milliseconds=10 * i), line) for i, line in enumerate(end.lines)
        ]
    if end.fate == "complete":
        command = " ".join([*container.get("command", []), *container.get("args", [])]) or image
        return [
            (started, f"running: {command}"),
            (started + timedelta(seconds=1), "finished successfully"),
        ]
    if previous:
        pod_name = pod["metadata"]["name"]
        raise LogError(f'previous terminated container "{name}" in pod "{pod_name}" not found')
    startup = end.lines or (f"Starting {name} ({image})", "Listening on 0.0.0.0:8080")
    out = [(started + timedelta(milliseconds=10 * i), line) for i, line in enumerate(startup)]
    now = datetime.now(UTC)
    span = max(int((now - started).total_seconds()), 1)
    for i in range(1, 11):
        when = started + timedelta(seconds=2 + (span - 2) * i // 10)
        out.append((min(when, now), f'10.244.0.{i} - - "GET /healthz HTTP/1.1" 200 2'))
    # Requests made from other pods (exec `wget`/`curl`), as the server logged them.
    out += store.served.get((str(pod["metadata"].get("uid", "")), name), ())
    return sorted(out, key=lambda entry: entry[0])


def _never_started(pod: Obj, container_name: str) -> str | None:
    """The waiting reason of a container that has not run yet (so has no logs), or None."""
    for status in pod.get("status", {}).get("containerStatuses", []):
        if status.get("name") != container_name or status.get("containerID"):
            continue
        reason = status.get("state", {}).get("waiting", {}).get("reason")
        return str(reason) if reason else None
    return None


def render(
    store: Store,
    pod: Obj,
    container_name: str | None,
    tail: int | None = None,
    since_seconds: int | None = None,
    timestamps: bool = False,
    previous: bool = False,
) -> str:
    """The log text of one container of a pod."""
    containers = pod.get("spec", {}).get("containers", [])
    pod_name = pod["metadata"]["name"]
    if container_name is None:
        if len(containers) != 1:
            names = " ".join(c.get("name", "") for c in containers)
            raise LogError(
                f"a container name must be specified for pod {pod_name}, choose one of: [{names}]"
            )
        container = containers[0]
    else:
        found = [c for c in containers if c.get("name") == container_name]
        if not found:
            raise LogError(f"container {container_name} is not valid for pod {pod_name}")
        container = found[0]
    waiting = _never_started(pod, container.get("name", ""))
    if waiting is not None:
        raise LogError(
            f'container "{container.get("name")}" in pod "{pod_name}" is waiting to start: '
            + _WAITING_PHRASES.get(waiting, waiting)
        )
    lines = _lines(store, pod, container, previous)
    if since_seconds is not None:
        cutoff = datetime.now(UTC) - timedelta(seconds=since_seconds)
        lines = [(t, text) for t, text in lines if t >= cutoff]
    if tail is not None and tail >= 0:
        lines = lines[-tail:] if tail else []
    if timestamps:
        return "".join(f"{t.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {text}\n" for t, text in lines)
    return "".join(f"{text}\n" for _, text in lines)
