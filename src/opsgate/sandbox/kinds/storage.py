"""`storage.k8s.io`: StorageClasses (the default one is marked by annotation) and CSI drivers."""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import Cause, Kind, age, forbidden, required

GROUP = "storage.k8s.io"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
_S = "string"


def is_default(storage_class: Obj) -> bool:
    """Whether a StorageClass is marked as the cluster's default."""
    annotations = storage_class.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(DEFAULT_ANNOTATION, "")).lower() == "true"


def _row(sc: Obj) -> list[Any]:
    return [
        sc.get("provisioner", ""),
        sc.get("reclaimPolicy", "Delete"),
        sc.get("volumeBindingMode", "Immediate"),
        "true" if sc.get("allowVolumeExpansion") else "false",
        age(sc),
    ]


def _defaults(sc: Obj) -> None:
    sc.setdefault("reclaimPolicy", "Delete")
    sc.setdefault("volumeBindingMode", "Immediate")


def _validate(sc: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = []
    if not sc.get("provisioner"):
        causes.append(required("provisioner"))
    if old is not None:
        if sc.get("parameters") != old.get("parameters"):
            causes.append(forbidden("parameters", "updates to parameters are forbidden."))
        if sc.get("provisioner") != old.get("provisioner"):
            causes.append(forbidden("provisioner", "updates to provisioner are forbidden."))
        if sc.get("reclaimPolicy") != old.get("reclaimPolicy"):
            causes.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        if sc.get("volumeBindingMode") != old.get("volumeBindingMode"):
            causes.append(forbidden("volumeBindingMode", "field is immutable"))
    return causes


def _csi_row(driver: Obj) -> list[Any]:
    sp = driver.get("spec") or {}
    return [
        str(sp.get("attachRequired", True)).lower(),
        str(sp.get("podInfoOnMount", False)).lower(),
        str(sp.get("storageCapacity", False)).lower(),
        "<unset>",
        str(sp.get("requiresRepublish", False)).lower(),
        ",".join(sp.get("volumeLifecycleModes") or ["Persistent"]),
        age(driver),
    ]


_R = Resource
KINDS: list[Kind] = [
    Kind(
        "StorageClass",
        (_R(GROUP, "v1", "StorageClass", "storageclasses", False, ("sc",)),),
        (
            ("Provisioner", _S, 0),
            ("ReclaimPolicy", _S, 0),
            ("VolumeBindingMode", _S, 0),
            ("AllowVolumeExpansion", _S, 0),
            ("Age", _S, 0),
        ),
        _row,
        _defaults,
        _validate,
        name_suffix=lambda sc: " (default)" if is_default(sc) else "",
    ),
    Kind(
        "CSIDriver",
        (_R(GROUP, "v1", "CSIDriver", "csidrivers", False),),
        (
            ("AttachRequired", _S, 0),
            ("PodInfoOnMount", _S, 0),
            ("StorageCapacity", _S, 0),
            ("TokenRequests", _S, 0),
            ("RequiresRepublish", _S, 0),
            ("Modes", _S, 0),
            ("Age", _S, 0),
        ),
        _csi_row,
    ),
    Kind(
        "VolumeAttachment",
        (_R(GROUP, "v1", "VolumeAttachment", "volumeattachments", False),),
    ),
]
