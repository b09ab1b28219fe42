"""Readiness probes against the simulated process: what a probe reaches, and what it answers.

Called by `kubelet` for every running container on every pass. A process serves the ports and
paths of its image's profile (`images`; a generic application: its declared container ports,
or any port when it declares none, and every path). An `httpGet` probe to a port nothing
listens on is refused, to a path the server does not know gets 404; a `tcpSocket` probe needs
a listening port; `exec` and `grpc` probes pass. The container is Ready once
`initialDelaySeconds` have passed and its probe succeeds; each failed period adds to the
kubelet's `Unhealthy` warning. Liveness and startup probes are not run (see docs/sandbox.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

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


def readiness(
    container: Obj, status: Obj, ip: str, now: datetime
) -> tuple[bool, list[states.Occurrence]]:
    """Whether a running container is Ready by its readiness probe, and the warnings owed."""
    probe = container.get("readinessProbe")
    if not probe:
        return True, []
    started = parse_time(status["state"]["running"].get("startedAt"))
    first = started + timedelta(seconds=int(probe.get("initialDelaySeconds") or 0))
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
