"""`networking.k8s.io` (Ingress, IngressClass, NetworkPolicy) and `discovery.k8s.io`
(EndpointSlice). Removed versions (`extensions/v1beta1`, `networking.k8s.io/v1beta1`) are not
served, as on a 1.35 server."""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    required,
    selector_text,
    spec,
    status,
    unsupported,
)
from opsgate.sandbox.kinds.services import endpoints_text

_S = "string"
PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"]


def _ingress_row(ing: Obj) -> list[Any]:
    sp = spec(ing)
    hosts = [r.get("host") for r in sp.get("rules") or [] if r.get("host")]
    shown = ",".join(hosts[:4]) + (f" + {len(hosts) - 4} more..." if len(hosts) > 4 else "")
    ingress = status(ing).get("loadBalancer", {}).get("ingress") or []
    address = ",".join(str(i.get("ip") or i.get("hostname")) for i in ingress)
    return [
        sp.get("ingressClassName", "<none>"),
        shown or "*",
        address,
        "80, 443" if sp.get("tls") else "80",
        age(ing),
    ]


def _ingress_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = []
    sp = spec(obj)
    for r, rule in enumerate(sp.get("rules") or []):
        for p, path in enumerate((rule.get("http") or {}).get("paths") or []):
            where = f"spec.rules[{r}].http.paths[{p}]"
            kind = path.get("pathType")
            if kind is None:
                causes.append(required(f"{where}.pathType", "pathType must be specified"))
            elif kind not in PATH_TYPES:
                causes.append(unsupported(f"{where}.pathType", kind, PATH_TYPES))
    return causes


def _netpol_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("podSelector", {})
    if "policyTypes" not in sp:
        sp["policyTypes"] = ["Ingress", *(["Egress"] if "egress" in sp else [])]
    for rule in [*(sp.get("ingress") or []), *(sp.get("egress") or [])]:
        for port in rule.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _slice_row(es: Obj) -> list[Any]:
    ports = ",".join(str(p.get("port")) for p in es.get("ports") or [] if p.get("port") is not None)
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    return [es.get("addressType", "IPv4"), ports or "<unset>", endpoints_text(addresses), age(es)]


_R = Resource
KINDS: list[Kind] = [
    Kind(
        "Ingress",
        (
            _R(
                "networking.k8s.io",
                "v1",
                "Ingress",
                "ingresses",
                True,
                ("ing",),
                subresources=("status",),
            ),
        ),
        (("Class", _S, 0), ("Hosts", _S, 0), ("Address", _S, 0), ("Ports", _S, 0), ("Age", _S, 0)),
        _ingress_row,
        validate=_ingress_validate,
    ),
    Kind(
        "IngressClass",
        (_R("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),),
        (("Controller", _S, 0), ("Parameters", _S, 0), ("Age", _S, 0)),
        lambda o: [spec(o).get("controller", ""), "<none>", age(o)],
    ),
    Kind(
        "NetworkPolicy",
        (_R("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),),
        (("Pod-Selector", _S, 0), ("Age", _S, 0)),
        lambda o: [selector_text(spec(o).get("podSelector")), age(o)],
        _netpol_defaults,
    ),
    Kind(
        "EndpointSlice",
        (_R("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),),
        (("AddressType", _S, 0), ("Ports", _S, 0), ("Endpoints", _S, 0), ("Age", _S, 0)),
        _slice_row,
    ),
]
