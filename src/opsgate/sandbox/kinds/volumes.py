"""The core group's storage (`/api/v1`): PersistentVolumeClaims and PersistentVolumes.

Spliced into `kinds.core.KINDS` at their place in the API server's discovery order.
"""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver import quantity
from opsgate.sandbox.apiserver.resources import Resource as _R
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    forbidden,
    invalid,
    required,
    spec,
    status,
    unsupported,
)

_S = "string"
ACCESS_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def _modes(obj: Obj) -> str:
    return ",".join(ACCESS_MODES.get(m, m) for m in spec(obj).get("accessModes") or [])


def _pvc_row(pvc: Obj) -> list[Any]:
    st = status(pvc)
    phase = st.get("phase", "Pending")
    if pvc["metadata"].get("deletionTimestamp"):
        phase = "Terminating"
    capacity = (st.get("capacity") or {}).get("storage", "")
    bound = phase in ("Bound", "Terminating")
    return [
        phase,
        spec(pvc).get("volumeName", ""),
        capacity,
        _modes(pvc) if bound else "",
        spec(pvc).get("storageClassName", "<unset>"),
        spec(pvc).get("volumeAttributesClassName", "<unset>"),
        age(pvc),
        spec(pvc).get("volumeMode", "Filesystem"),
    ]


def _pv_row(pv: Obj) -> list[Any]:
    sp = spec(pv)
    claim = sp.get("claimRef") or {}
    claim_text = f"{claim.get('namespace')}/{claim.get('name')}" if claim.get("name") else ""
    return [
        (sp.get("capacity") or {}).get("storage", ""),
        _modes(pv),
        sp.get("persistentVolumeReclaimPolicy", "Retain"),
        status(pv).get("phase", "Pending"),
        claim_text,
        sp.get("storageClassName", ""),
        sp.get("volumeAttributesClassName", "<unset>"),
        status(pv).get("reason", ""),
        age(pv),
        sp.get("volumeMode", "Filesystem"),
    ]


def _pvc_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {"phase": "Pending"})


def _pvc_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    causes: list[Cause] = []
    if not sp.get("accessModes"):
        causes.append(required("spec.accessModes"))
    for mode in sp.get("accessModes") or []:
        if mode not in ACCESS_MODES:
            causes.append(unsupported("spec.accessModes", mode, list(ACCESS_MODES)))
    storage = ((sp.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        causes.append(required("spec.resources[storage]"))
    elif not quantity.valid(storage):
        causes.append(invalid("spec.resources[storage]", storage, "must be a valid quantity"))
    if old is None:
        return causes
    before = {k: v for k, v in spec(old).items() if k not in ("resources", "volumeName")}
    after = {k: v for k, v in sp.items() if k not in ("resources", "volumeName")}
    if before != after:
        causes.append(
            forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and "
                "volumeAttributesClassName for bound claims",
            )
        )
    return causes


def _pv_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("persistentVolumeReclaimPolicy", "Retain")
    sp.setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {"phase": "Pending"})


def _pv_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    causes = []
    if not sp.get("accessModes"):
        causes.append(required("spec.accessModes"))
    if not (sp.get("capacity") or {}).get("storage"):
        causes.append(required("spec.capacity"))
    return causes


CLAIMS = Kind(
    "PersistentVolumeClaim",
    (
        _R(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            True,
            ("pvc",),
            subresources=("status",),
        ),
    ),
    (
        ("Status", _S, 0),
        ("Volume", _S, 0),
        ("Capacity", _S, 0),
        ("Access Modes", _S, 0),
        ("StorageClass", _S, 0),
        ("VolumeAttributesClass", _S, 0),
        ("Age", _S, 0),
        ("VolumeMode", _S, 1),
    ),
    _pvc_row,
    _pvc_defaults,
    _pvc_validate,
)
VOLUMES = Kind(
    "PersistentVolume",
    (
        _R(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            False,
            ("pv",),
            subresources=("status",),
        ),
    ),
    (
        ("Capacity", _S, 0),
        ("Access Modes", _S, 0),
        ("Reclaim Policy", _S, 0),
        ("Status", _S, 0),
        ("Claim", _S, 0),
        ("StorageClass", _S, 0),
        ("VolumeAttributesClass", _S, 0),
        ("Reason", _S, 0),
        ("Age", _S, 0),
        ("VolumeMode", _S, 1),
    ),
    _pv_row,
    _pv_defaults,
    _pv_validate,
)
