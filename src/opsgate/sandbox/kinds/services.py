"""The core group's services (`/api/v1`): Services and their Endpoints.

Spliced into `kinds.core.KINDS` at their place in the API server's discovery order;
`endpoints_text` is shared with `kinds.networking` (EndpointSlices print the same way).
"""

from __future__ import annotations

import secrets
from typing import Any

from opsgate.sandbox.apiserver.resources import Resource as _R
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    invalid,
    labels_text,
    required,
    spec,
    status,
    unsupported,
)

_S = "string"


def _ports(svc: Obj) -> str:
    parts = []
    for port in spec(svc).get("ports") or []:
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _external_ip(svc: Obj) -> str:
    sp = spec(svc)
    if sp.get("type") == "ExternalName":
        return str(sp.get("externalName", "<none>"))
    ingress = status(svc).get("loadBalancer", {}).get("ingress") or []
    addresses = [i.get("ip") or i.get("hostname") for i in ingress]
    addresses += sp.get("externalIPs") or []
    if addresses:
        return ",".join(str(a) for a in addresses)
    return "<pending>" if sp.get("type") == "LoadBalancer" else "<none>"


def _svc_row(svc: Obj) -> list[Any]:
    sp = spec(svc)
    selector = labels_text(sp.get("selector"))
    return [
        sp.get("type", "ClusterIP"),
        sp.get("clusterIP", "<none>"),
        _external_ip(svc),
        _ports(svc),
        age(svc),
        selector or "<none>",
    ]


def endpoints_text(addresses: list[str], limit: int = 3) -> str:
    """`10.244.1.5:80,10.244.2.3:80 + 1 more...` as kubectl prints endpoints."""
    if not addresses:
        return "<none>"
    shown = ",".join(addresses[:limit])
    more = len(addresses) - limit
    return f"{shown} + {more} more..." if more > 0 else shown


def _endpoints_row(ep: Obj) -> list[Any]:
    found = []
    for subset in ep.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            for port in ports:
                ip = address.get("ip", "")
                found.append(f"{ip}:{port}" if port is not None else ip)
    return [endpoints_text(found), age(ep)]


_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _service_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("type", "ClusterIP")
    if sp["type"] != "ExternalName":
        sp.setdefault("clusterIP", f"10.96.{secrets.randbelow(250)}.{secrets.randbelow(250) + 2}")
        sp.setdefault("clusterIPs", [sp["clusterIP"]])
        sp.setdefault("ipFamilies", ["IPv4"])
        sp.setdefault("ipFamilyPolicy", "SingleStack")
        sp.setdefault("internalTrafficPolicy", "Cluster")
    sp.setdefault("sessionAffinity", "None")
    if sp["type"] in ("NodePort", "LoadBalancer"):
        sp.setdefault("externalTrafficPolicy", "Cluster")
    for port in sp.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if sp["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
            port["nodePort"] = 30000 + secrets.randbelow(2768)
    obj.setdefault("status", {"loadBalancer": {}})


def _service_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    causes: list[Cause] = []
    kind = sp.get("type", "ClusterIP")
    if kind not in _SERVICE_TYPES:
        causes.append(unsupported("spec.type", kind, _SERVICE_TYPES))
    ports = sp.get("ports") or []
    headless = sp.get("clusterIP") == "None"
    if not ports and kind != "ExternalName" and not headless:
        causes.append(required("spec.ports"))
    names: set[str] = set()
    for index, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                invalid(
                    f"spec.ports[{index}].port", number, "must be between 1 and 65535, inclusive"
                )
            )
        if len(ports) > 1 and not port.get("name"):
            causes.append(required(f"spec.ports[{index}].name"))
        if port.get("name") in names:
            causes.append(
                Cause(
                    f"spec.ports[{index}].name",
                    "FieldValueDuplicate",
                    f'Duplicate value: "{port.get("name")}"',
                )
            )
        names.add(str(port.get("name")))
    if old is not None and kind != "ExternalName":
        before = spec(old).get("clusterIP")
        if before and sp.get("clusterIP") not in (None, before):
            causes.append(
                invalid(
                    "spec.clusterIPs[0]",
                    f'[]string{{"{sp.get("clusterIP")}"}}',
                    "may not change once set",
                )
            )
    return causes


SERVICES = Kind(
    "Service",
    (
        _R(
            "",
            "v1",
            "Service",
            "services",
            True,
            ("svc",),
            subresources=("status", "proxy"),
            categories=("all",),
        ),
    ),
    (
        ("Type", _S, 0),
        ("Cluster-IP", _S, 0),
        ("External-IP", _S, 0),
        ("Port(s)", _S, 0),
        ("Age", _S, 0),
        ("Selector", _S, 1),
    ),
    _svc_row,
    _service_defaults,
    _service_validate,
    name_rule="label",
)
ENDPOINTS = Kind(
    "Endpoints",
    (_R("", "v1", "Endpoints", "endpoints", True, ("ep",)),),
    (("Endpoints", _S, 0), ("Age", _S, 0)),
    _endpoints_row,
)
