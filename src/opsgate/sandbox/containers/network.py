"""Cluster DNS and HTTP between simulated containers, with NetworkPolicies enforced.

Called by `shell` for `nslookup`, `getent hosts`, `wget` and `curl`. Names resolve as cluster
DNS does (`svc`, `svc.ns`, `svc.ns.svc[.cluster.local]`, a headless Service's
`pod.svc.ns.svc.cluster.local`, through the pod's search path); a Service's ClusterIP routes to
its first ready endpoint, a pod IP to that pod. The answering pod serves what its image does
(`images`): nginx its document root (a mounted ConfigMap's `index.html` included) or its
welcome page, `http-echo` its `-text`, an unknown application 200 with its pod name, so routing
checks can tell pods apart. A NetworkPolicy selecting the target pod for Ingress (or the
client for Egress) that no rule allows makes the connection time out, as dropped packets do.
Each answered request is added to the serving container's access log (`Store.served`, read by
`logs`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from opsgate.sandbox.apiserver.selectors import match_labels
from opsgate.sandbox.apiserver.store import Obj, Store
from opsgate.sandbox.containers import files, images
from opsgate.sandbox.controllers import endpoints

NP_KEY = "networkpolicies.networking.k8s.io"
Failure = Literal["unresolved", "refused", "timeout"]


@dataclass(frozen=True)
class Answer:
    """An HTTP response (status and body), or why no connection was made."""

    status: int = 0
    body: str = ""
    failure: Failure | None = None
    host: str = ""
    ip: str = ""
    port: int = 80


_KEPT_REQUESTS = 1000
"""Access-log lines kept per container (the oldest go first)."""


def resolve(store: Store, client: Obj, name: str) -> tuple[str, str] | None:
    """(fully qualified name, IP) of a cluster name as the client's resolver finds it."""
    namespace = client["metadata"].get("namespace", "")
    name = name.rstrip(".").lower()
    suffix = f".svc.{files.CLUSTER_DOMAIN}"
    candidates = (
        [name]
        if name.endswith(suffix)
        else [
            f"{name}.{namespace}{suffix}",
            f"{name}{suffix}",
            f"{name}.{files.CLUSTER_DOMAIN}",
            name,
        ]
    )
    for fqdn in candidates:
        if not fqdn.endswith(suffix):
            continue
        labels = fqdn[: -len(suffix)].split(".")
        if len(labels) == 2:
            service = store.peek("services", labels[1], labels[0])
            if service is not None:
                ip = (service.get("spec") or {}).get("clusterIP", "")
                if ip and ip != "None":
                    return fqdn, ip
                ready = [p for p in endpoints.selected_pods(store, service) if endpoints.ready(p)]
                if ready:
                    return fqdn, ready[0]["status"]["podIP"]
        if len(labels) == 3:
            for pod in store.scan("pods", labels[2]):
                spec = pod.get("spec") or {}
                if spec.get("subdomain") == labels[1] and files.hostname(pod) == labels[0]:
                    ip = (pod.get("status") or {}).get("podIP")
                    if ip:
                        return fqdn, str(ip)
    return None


def _pod_by_ip(store: Store, ip: str) -> Obj | None:
    return next((p for p in store.scan("pods") if (p.get("status") or {}).get("podIP") == ip), None)


def _service_by_ip(store: Store, ip: str) -> Obj | None:
    return next(
        (s for s in store.scan("services") if (s.get("spec") or {}).get("clusterIP") == ip), None
    )


def _peer_allowed(store: Store, peer: Obj, other: Obj, policy_ns: str) -> bool:
    if "ipBlock" in peer:
        return False
    selected_ns = peer.get("namespaceSelector")
    other_ns = other["metadata"].get("namespace", "")
    if selected_ns is None and other_ns != policy_ns:
        return False
    if selected_ns is not None:
        namespace = store.peek("namespaces", "", other_ns) or {"metadata": {}}
        labels = {
            **(namespace["metadata"].get("labels") or {}),
            "kubernetes.io/metadata.name": other_ns,
        }
        if not match_labels(selected_ns, labels):
            return False
    pods = peer.get("podSelector")
    return pods is None or match_labels(pods, other["metadata"].get("labels"))


def _port_allowed(rule: Obj, port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("port") in (None, port) for p in ports)


def allowed(store: Store, client: Obj, target: Obj, port: int) -> bool:
    """Whether NetworkPolicies let `client` reach `target` on `port`."""
    for pod, direction, other in ((target, "Ingress", client), (client, "Egress", target)):
        namespace = pod["metadata"].get("namespace", "")
        policies = [
            p
            for p in store.scan(NP_KEY, namespace)
            if direction in ((p.get("spec") or {}).get("policyTypes") or ["Ingress"])
            and match_labels(
                (p.get("spec") or {}).get("podSelector") or {}, pod["metadata"].get("labels")
            )
        ]
        if not policies:
            continue
        field, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        if not any(
            _port_allowed(rule, port)
            and (
                not rule.get(peers)
                or any(_peer_allowed(store, peer, other, namespace) for peer in rule[peers])
            )
            for policy in policies
            for rule in (policy.get("spec") or {}).get(field) or []
        ):
            return False
    return True


def _answer(store: Store, pod: Obj, container: Obj, port: int, path: str) -> tuple[int, str] | None:
    """What one container answers on `port` (None: it does not listen there)."""
    profile = images.profile(container.get("image", ""))
    declared = [int(p.get("containerPort", 0)) for p in container.get("ports") or []]
    served = profile.http_ports or tuple(declared)
    if profile is images.GENERIC and not declared:
        served = (port,)
    if port not in served:
        return None
    if profile.docroot:
        mounted = files.container_files(store, pod, container)
        page = path.rstrip("/") + "/index.html" if path.endswith("/") else path
        found = mounted.get(profile.docroot + page)
        if found is not None:
            return 200, found
    if profile.paths is not None and path not in profile.paths:
        return 404, images.not_found_page(profile)
    args = [*container.get("command", []), *container.get("args", [])]
    text = next((a.split("=", 1)[1] for a in args if str(a).startswith("-text=")), None)
    if text is not None:
        return 200, text + "\n"
    return 200, profile.page or f"Hello from {pod['metadata']['name']}\n"


def _serve(store: Store, pod: Obj, port: int, path: str) -> tuple[int, str, str] | None:
    """What the pod answers on `port`, and which container answers (None: nothing listens)."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        answer = _answer(store, pod, container, port, path)
        if answer is not None:
            return (*answer, str(container.get("name", "")))
    return None


def _log_request(
    store: Store, client: Obj, target: Obj, container: str, line: tuple[str, int, str, str]
) -> None:
    """Add the request to the serving container's access log (nginx's `main` format)."""
    path, status, body, agent = line
    now = datetime.now(UTC)
    source = (client.get("status") or {}).get("podIP", "")
    text = (
        f'{source} - - [{now.strftime("%d/%b/%Y:%H:%M:%S")} +0000] "GET {path} HTTP/1.1" '
        f'{status} {len(body.encode())} "-" "{agent}" "-"'
    )
    key = (str(target["metadata"].get("uid", "")), container)
    store.served.setdefault(key, deque(maxlen=_KEPT_REQUESTS)).append((now, text))


def http_get(store: Store, client: Obj, url: str, agent: str = "Wget") -> Answer:
    """GET `url` from inside `client` (`agent` is the User-Agent the server logs)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host, port = parts.hostname or "", parts.port or 80
    path = parts.path or "/"
    if host.replace(".", "").isdigit():
        ip = host
    else:
        found = resolve(store, client, host)
        if found is None:
            return Answer(failure="unresolved", host=host, port=port)
        ip = found[1]
    service = _service_by_ip(store, ip)
    target_port = port
    target: Obj | None
    if service is not None:
        spec_port = next(
            (p for p in (service.get("spec") or {}).get("ports") or [] if p.get("port") == port),
            None,
        )
        ready = [p for p in endpoints.selected_pods(store, service) if endpoints.ready(p)]
        if spec_port is None or not ready:
            return Answer(failure="refused", host=host, ip=ip, port=port)
        target = ready[0]
        number = endpoints.target_port(target, spec_port)
        if number is None:
            return Answer(failure="refused", host=host, ip=ip, port=port)
        target_port = number
    else:
        target = _pod_by_ip(store, ip)
    if target is None:
        return Answer(failure="timeout", host=host, ip=ip, port=port)
    if not allowed(store, client, target, target_port):
        return Answer(failure="timeout", host=host, ip=ip, port=port)
    served = _serve(store, target, target_port, path)
    if served is None:
        return Answer(failure="refused", host=host, ip=ip, port=port)
    status, body, container = served
    _log_request(store, client, target, container, (path, status, body, agent))
    return Answer(status, body, host=host, ip=ip, port=port)
