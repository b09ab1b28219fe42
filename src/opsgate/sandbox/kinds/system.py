"""The cluster-level groups charts ship objects of: scheduling (PriorityClass), coordination
(Lease), node (RuntimeClass), policy (PodDisruptionBudget), admission webhooks, API services,
certificates and CustomResourceDefinitions (served by `apiserver.crds`)."""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    created_at,
    forbidden,
    required,
    spec,
    status,
)

_S, _I = "string", "integer"


def _priority_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    causes = []
    if not isinstance(obj.get("value"), int):
        causes.append(required("value"))
    if old is not None and obj.get("value") != old.get("value"):
        causes.append(forbidden("value", "may not be changed in an update."))
    return causes


def _priority_defaults(obj: Obj) -> None:
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _pdb_row(pdb: Obj) -> list[Any]:
    sp = spec(pdb)
    return [
        sp.get("minAvailable", "N/A"),
        sp.get("maxUnavailable", "N/A"),
        status(pdb).get("disruptionsAllowed", 0),
        age(pdb),
    ]


def _pdb_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    if "minAvailable" in sp and "maxUnavailable" in sp:
        return [
            Cause(
                "spec",
                "FieldValueInvalid",
                "Invalid value: policy.PodDisruptionBudgetSpec{...}: minAvailable and "
                "maxUnavailable cannot be both set",
            )
        ]
    return []


def _webhooks(obj: Obj) -> list[Any]:
    return [len(obj.get("webhooks") or []), age(obj)]


def _apiservice_row(svc: Obj) -> list[Any]:
    ref = spec(svc).get("service")
    target = f"{ref.get('namespace')}/{ref.get('name')}" if ref else "Local"
    available = next(
        (c for c in status(svc).get("conditions") or [] if c.get("type") == "Available"), None
    )
    shown = "True" if ref is None else "False (ServiceNotFound)"
    if available is not None:
        shown = available.get("status", "Unknown")
        if shown != "True" and available.get("reason"):
            shown += f" ({available['reason']})"
    return [target, shown, age(svc)]


def _csr_row(csr: Obj) -> list[Any]:
    sp = spec(csr)
    conditions = [c.get("type") for c in status(csr).get("conditions") or []]
    seconds = sp.get("expirationSeconds")
    return [
        age(csr),
        sp.get("signerName", ""),
        sp.get("username", ""),
        f"{seconds}s" if seconds else "<none>",
        ",".join(str(c) for c in conditions) or "Pending",
    ]


_R = Resource
KINDS: list[Kind] = [
    Kind(
        "PriorityClass",
        (_R("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ("pc",)),),
        (
            ("Value", _I, 0),
            ("Global-Default", "boolean", 0),
            ("Age", _S, 0),
            ("PreemptionPolicy", _S, 0),
        ),
        lambda o: [
            o.get("value", 0),
            "true" if o.get("globalDefault") else "false",
            age(o),
            o.get("preemptionPolicy", "PreemptLowerPriority"),
        ],
        _priority_defaults,
        _priority_validate,
    ),
    Kind(
        "Lease",
        (_R("coordination.k8s.io", "v1", "Lease", "leases"),),
        (("Holder", _S, 0), ("Age", _S, 0)),
        lambda o: [spec(o).get("holderIdentity", ""), age(o)],
    ),
    Kind(
        "RuntimeClass",
        (_R("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", False),),
        (("Handler", _S, 0), ("Age", _S, 0)),
        lambda o: [o.get("handler", ""), age(o)],
    ),
    Kind(
        "PodDisruptionBudget",
        (
            _R(
                "policy",
                "v1",
                "PodDisruptionBudget",
                "poddisruptionbudgets",
                True,
                ("pdb",),
                subresources=("status",),
            ),
        ),
        (
            ("Min Available", _S, 0),
            ("Max Unavailable", _S, 0),
            ("Allowed Disruptions", _I, 0),
            ("Age", _S, 0),
        ),
        _pdb_row,
        validate=_pdb_validate,
    ),
    Kind(
        "ValidatingWebhookConfiguration",
        (
            _R(
                "admissionregistration.k8s.io",
                "v1",
                "ValidatingWebhookConfiguration",
                "validatingwebhookconfigurations",
                False,
            ),
        ),
        (("Webhooks", _I, 0), ("Age", _S, 0)),
        _webhooks,
    ),
    Kind(
        "MutatingWebhookConfiguration",
        (
            _R(
                "admissionregistration.k8s.io",
                "v1",
                "MutatingWebhookConfiguration",
                "mutatingwebhookconfigurations",
                False,
            ),
        ),
        (("Webhooks", _I, 0), ("Age", _S, 0)),
        _webhooks,
    ),
    Kind(
        "APIService",
        (
            _R(
                "apiregistration.k8s.io",
                "v1",
                "APIService",
                "apiservices",
                False,
                subresources=("status",),
            ),
        ),
        (("Service", _S, 0), ("Available", _S, 0), ("Age", _S, 0)),
        _apiservice_row,
        name_rule="any",
    ),
    Kind(
        "CertificateSigningRequest",
        (
            _R(
                "certificates.k8s.io",
                "v1",
                "CertificateSigningRequest",
                "certificatesigningrequests",
                False,
                ("csr",),
                subresources=("status", "approval"),
            ),
        ),
        (
            ("Age", _S, 0),
            ("SignerName", _S, 0),
            ("Requestor", _S, 0),
            ("RequestedDuration", _S, 0),
            ("Condition", _S, 0),
        ),
        _csr_row,
    ),
    Kind(
        "CustomResourceDefinition",
        (
            _R(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                False,
                ("crd", "crds"),
                subresources=("status",),
            ),
        ),
        (("Created At", "date", 0),),
        lambda o: [created_at(o)],
    ),
]
