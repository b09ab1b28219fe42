"""The endpoints and endpointslice controllers: which pods back each Service.

Registered in `loop.CONTROLLERS`. For every Service with a selector, the pods it selects that
have an IP are its endpoints: Ready ones as `addresses`, the others as `notReadyAddresses` (in
EndpointSlices, `conditions.ready`). Named target ports resolve per pod from its container
ports, so a pod that does not declare the name is left out. A Service that selects nothing has
no subsets: `kubectl get endpoints` shows `<none>`, the real "no endpoints" failure. Services
without a selector keep the Endpoints someone wrote by hand.
"""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.selectors import match_labels
from opsgate.sandbox.apiserver.store import Obj, Store, clone
from opsgate.sandbox.controllers import scheduler
from opsgate.sandbox.controllers.owners import save_if_changed

EP_KEY = "endpoints"
SLICE_KEY = "endpointslices.discovery.k8s.io"
MANAGED = "endpoints.kubernetes.io/managed-by"
SLICE_MANAGER = "endpointslice-controller.k8s.io"
SERVICE_NAME = "kubernetes.io/service-name"


def ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def selected_pods(store: Store, service: Obj) -> list[Obj]:
    """The live pods a Service's selector matches, with an IP, in name order."""
    selector = (service.get("spec") or {}).get("selector") or {}
    namespace = service["metadata"].get("namespace", "")
    found = [
        p
        for p in store.scan("pods", namespace)
        if match_labels({"matchLabels": selector}, p["metadata"].get("labels"))
        and (p.get("status") or {}).get("podIP")
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        and not p["metadata"].get("deletionTimestamp")
    ]
    return sorted(found, key=lambda p: p["metadata"]["name"])


def target_port(pod: Obj, port: Obj) -> int | None:
    """The pod's port for a Service port (`targetPort` a number, or a container port name)."""
    wanted: Any = port.get("targetPort", port.get("port"))
    if isinstance(wanted, int) or str(wanted).isdigit():
        return int(wanted)
    for container in (pod.get("spec") or {}).get("containers") or []:
        for declared in container.get("ports") or []:
            if declared.get("name") == wanted:
                return int(declared.get("containerPort", 0))
    return None


def _address(pod: Obj, service: Obj) -> Obj:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    address: Obj = {
        "ip": pod["status"]["podIP"],
        "nodeName": spec.get("nodeName", ""),
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
        },
    }
    if spec.get("subdomain") == service["metadata"]["name"] and spec.get("hostname"):
        address["hostname"] = spec["hostname"]
    return address


def _subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    groups: dict[tuple[Any, ...], Obj] = {}
    for pod in pods:
        ports = []
        for port in (service.get("spec") or {}).get("ports") or []:
            number = target_port(pod, port)
            if number is None:
                continue
            entry = {"port": number, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            ports.append(entry)
        if not ports:
            continue
        key = tuple(sorted((p.get("name", ""), p["port"]) for p in ports))
        group = groups.setdefault(key, {"ports": ports})
        field = "addresses" if ready(pod) else "notReadyAddresses"
        group.setdefault(field, []).append(_address(pod, service))
    return list(groups.values())


def _endpoints(store: Store, service: Obj, pods: list[Obj]) -> bool:
    meta = service["metadata"]
    namespace, name = meta.get("namespace", ""), meta["name"]
    existing = store.get(EP_KEY, namespace, name)
    labels = {**(meta.get("labels") or {}), MANAGED: "endpoint-controller"}
    wanted: Obj = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
    }
    subsets = _subsets(service, pods)
    if subsets:
        wanted["subsets"] = subsets
    if existing is None:
        store.put(EP_KEY, wanted)
        return True
    after = clone(existing)
    after["metadata"]["labels"] = labels
    after.pop("subsets", None)
    if subsets:
        after["subsets"] = subsets
    return save_if_changed(store, EP_KEY, existing, after)


def _slice(store: Store, service: Obj, pods: list[Obj]) -> bool:
    meta = service["metadata"]
    namespace, name = meta.get("namespace", ""), meta["name"]
    slice_name = f"{name}-{scheduler.stable_hash(meta.get('uid', name), 5)}"
    ports = []
    for port in (service.get("spec") or {}).get("ports") or []:
        numbers = {target_port(p, port) for p in pods} - {None}
        entry: Obj = {"port": next(iter(numbers)) if len(numbers) == 1 else None}
        entry.update(protocol=port.get("protocol", "TCP"), name=port.get("name", ""))
        ports.append(entry)
    endpoints = [
        {
            "addresses": [p["status"]["podIP"]],
            "conditions": {"ready": ready(p), "serving": ready(p), "terminating": False},
            "nodeName": (p.get("spec") or {}).get("nodeName", ""),
            "targetRef": {
                "kind": "Pod",
                "namespace": namespace,
                "name": p["metadata"]["name"],
                "uid": p["metadata"].get("uid", ""),
            },
        }
        for p in pods
    ]
    wanted: Obj = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": slice_name,
            "namespace": namespace,
            "labels": {
                **(meta.get("labels") or {}),
                SERVICE_NAME: name,
                "endpointslice.kubernetes.io/managed-by": SLICE_MANAGER,
            },
            "ownerReferences": [scheduler.owner_reference(service)],
        },
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": ports,
    }
    existing = store.get(SLICE_KEY, namespace, slice_name)
    if existing is None:
        store.put(SLICE_KEY, wanted)
        return True
    after = {**clone(existing), "endpoints": endpoints, "ports": ports}
    after["metadata"]["labels"] = wanted["metadata"]["labels"]
    return save_if_changed(store, SLICE_KEY, existing, after)


def reconcile(store: Store) -> bool:
    """Bring every selector Service's Endpoints and EndpointSlice up to date."""
    changed = False
    services = {
        (s["metadata"].get("namespace", ""), s["metadata"]["name"]): s
        for s in store.scan("services")
    }
    for service in list(services.values()):
        if not (service.get("spec") or {}).get("selector") or service["metadata"].get(
            "deletionTimestamp"
        ):
            continue
        pods = selected_pods(store, service)
        changed |= _endpoints(store, service, pods)
        changed |= _slice(store, service, pods)
    for ep in list(store.scan(EP_KEY)):
        meta = ep["metadata"]
        owner = services.get((meta.get("namespace", ""), meta["name"]))
        managed = (meta.get("labels") or {}).get(MANAGED) == "endpoint-controller"
        if managed and (owner is None or not (owner.get("spec") or {}).get("selector")):
            store.delete(EP_KEY, meta.get("namespace", ""), meta["name"])
            changed = True
    return changed
