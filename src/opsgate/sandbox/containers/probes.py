"""Probes against the simulated process: what a probe reaches, and what it answers.

Called by `kubelet` (readiness, `started`) and `states` (whether a liveness or startup probe
kills the container) for every container on every pass. A process serves the ports and paths
of its image's profile (`images`; a generic application: its declared container ports, or any
port when it declares none, and every path). An `httpGet` probe to a port nothing listens on
is refused, to a path the server does not know gets 404; a `tcpSocket` probe needs a listening
port; `exec` and `grpc` probes pass.

A startup probe, when declared, runs first: the container is `started` once it succeeds (at
its `initialDelaySeconds`), and readiness and liveness probes only count from then; one that
fails `failureThreshold` times kills the container. A liveness probe that fails
`failureThreshold` times in a row kills it too (`restarts` restarts it). The container is
Ready once the readiness probe's `initialDelaySeconds` have passed and it succeeds; each failed
period adds to the kubelet's `Unhealthy` warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from opsgate.sandbox.apiserver.store import Obj, parse_time
from opsgate.sandbox.containers import images, states


def _port(container: Obj, wanted: object) -> int | None:
    if isinstance(wanted, int) or str(wanted).isdigit():
        return int(str(wanted))
    for declared in container.get("ports") or []:
        if declared.get("name") == wanted:
            return int(declared.get("containerPort", 0))
    return None


def _listens(container: Obj, port: int, http: bool) -> bool:
    profile = images.profile(container.get("image", ""))
    served = profile.http_ports if http else (*profile.http_ports, *profile.tcp_ports)
    if profile is images.GENERIC:
        served = tuple(int(p.get("containerPort", 0)) for p in container.get("ports") or [])
        return not served or port in served
    return port in served


def failure(container: Obj, probe: Obj, ip: str) -> str | None:
    """Why the probe fails against this container's process (the kubelet's words), or None."""
    if "httpGet" in probe:
        get = probe["httpGet"]
        port = _port(container, get.get("port"))
        path = str(get.get("path") or "/")
        scheme = str(get.get("scheme") or "HTTP").lower()
        if port is None:
            return f"unable to find port {get.get('port')!r} in container {container.get('name')}"
        if not _listens(container, port, http=True):
            where = f"{ip}:{port}"
            return f'Get "{scheme}://{where}{path}": dial tcp {where}: connect: connection refused'
        paths = images.profile(container.get("image", "")).paths
        if paths is not None and path.split("?", 1)[0] not in paths:
            return "HTTP probe failed with statuscode: 404"
        return None
    if "tcpSocket" in probe:
        port = _port(container, probe["tcpSocket"].get("port"))
        if port is None or not _listens(container, port, http=False):
            return f"dial tcp {ip}:{port}: connect: connection refused"
    return None


def _seconds(probe: Obj, field: str, default: int) -> int:
    value = probe.get(field)
    return int(value) if isinstance(value, int) and value > 0 else default


def startup_s(container: Obj) -> int:
    """Seconds from a start until the startup probe succeeds (0 without one)."""
    probe = container.get("startupProbe")
    return _seconds(probe, "initialDelaySeconds", 0) if probe else 0


@dataclass(frozen=True)
class Kill:
    """A probe that kills every run of a container: which, why, and how long a run lasts."""

    kind: Literal["Liveness", "Startup"]
    why: str
    delay_s: int
    """From the start to the first failed probe."""
    period_s: int
    threshold: int

    @property
    def run_s(self) -> int:
        """From the start to the kill: `threshold` failures, `period_s` apart (at least 1 s)."""
        return max(self.delay_s + self.period_s * (self.threshold - 1), 1)


def kill(container: Obj, ip: str) -> Kill | None:
    """The probe that kills this container's runs (a failing startup or liveness probe), or
    None when its runs last."""
    for kind, field in (("Startup", "startupProbe"), ("Liveness", "livenessProbe")):
        probe = container.get(field)
        if not probe:
            continue
        why = failure(container, probe, ip)
        if why is not None:
            delay = _seconds(probe, "initialDelaySeconds", 0)
            if kind == "Liveness":
                delay += startup_s(container)
            period = _seconds(probe, "periodSeconds", 10)
            threshold = _seconds(probe, "failureThreshold", 3)
            return Kill(
                "Startup" if kind == "Startup" else "Liveness", why, delay, period, threshold
            )
    return None


def started(container: Obj, status: Obj, now: datetime) -> bool:
    """Whether a running container counts as started (its startup probe, if any, succeeded)."""
    since = parse_time(status["state"]["running"].get("startedAt"))
    return now >= since + timedelta(seconds=startup_s(container))


def readiness(
    container: Obj, status: Obj, ip: str, now: datetime
) -> tuple[bool, list[states.Occurrence]]:
    """Whether a running container is Ready by its readiness probe, and the warnings owed."""
    if not started(container, status, now):
        return False, []
    probe = container.get("readinessProbe")
    if not probe:
        return True, []
    since = parse_time(status["state"]["running"].get("startedAt"))
    delay = startup_s(container) + int(probe.get("initialDelaySeconds") or 0)
    first = since + timedelta(seconds=delay)
    if now < first:
        return False, []
    why = failure(container, probe, ip)
    if why is None:
        return True, []
    period = int(probe.get("periodSeconds") or 10)
    count = int((now - first).total_seconds() // period) + 1
    last = first + timedelta(seconds=period * (count - 1))
    warning = states.Occurrence(
        "Unhealthy",
        f"Readiness probe failed: {why}",
        "Warning",
        count,
        states.iso(first),
        states.iso(last),
        series=str(status.get("containerID", "")),
    )
    return False, [warning]
