"""The persistent volume controller and the simulated provisioner: claims, volumes, resizing.

Registered in `loop.CONTROLLERS`. A Pending claim binds to an Available volume that fits
(class, access modes, size); else its StorageClass provisions one `pvc-<uid>` (at once with
`Immediate`, once a pod is scheduled with `WaitForFirstConsumer`). A claim naming a class that
does not exist stays Pending with `ProvisioningFailed`; one with no class and no volume waits
with `FailedBinding`. Raising a bound claim's request resizes its volume when the class allows
expansion. Claims and volumes carry the protection finalizers: a claim in use by a pod stays
`Terminating` until the pod goes; a released volume is deleted or kept by its reclaim policy.
"""

from __future__ import annotations

from fractions import Fraction

from opsgate.sandbox.apiserver import quantity
from opsgate.sandbox.apiserver.store import Obj, Store, clone
from opsgate.sandbox.controllers import events
from opsgate.sandbox.controllers.owners import save_if_changed
from opsgate.sandbox.controllers.scheduler import SELECTED_NODE

PVC_KEY = "persistentvolumeclaims"
PV_KEY = "persistentvolumes"
SC_KEY = "storageclasses.storage.k8s.io"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
CONTROLLER = "persistentvolume-controller"


def _size(obj: Obj, where: str) -> Fraction:
    spec = obj.get("spec") or {}
    value = (
        (spec.get("resources") or {}).get("requests", {}).get("storage")
        if where == "request"
        else (spec.get("capacity") or {}).get("storage")
    )
    try:
        return quantity.parse(value or "0")
    except quantity.QuantityError:
        return Fraction(0)


def _in_use(store: Store, claim: Obj) -> bool:
    namespace, name = claim["metadata"].get("namespace", ""), claim["metadata"]["name"]
    for pod in store.scan("pods", namespace):
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            if (volume.get("persistentVolumeClaim") or {}).get("claimName") == name:
                return True
    return False


def _protect(store: Store, key: str, obj: Obj, finalizer: str, keep: bool) -> bool:
    """Add the protection finalizer, or drop it from a deleted object that may now go."""
    finalizers = list(obj["metadata"].get("finalizers") or [])
    deleting = bool(obj["metadata"].get("deletionTimestamp"))
    if not deleting and finalizer not in finalizers:
        updated = clone(obj)
        updated["metadata"]["finalizers"] = [*finalizers, finalizer]
        store.put(key, updated)
        return True
    if deleting and finalizer in finalizers and not keep:
        updated = clone(obj)
        updated["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
        stored = store.put(key, updated)
        if not stored["metadata"]["finalizers"]:
            store.delete(key, stored["metadata"].get("namespace", ""), stored["metadata"]["name"])
        return True
    return False


def _fits(volume: Obj, claim: Obj) -> bool:
    spec, wanted = volume.get("spec") or {}, claim.get("spec") or {}
    if spec.get("claimRef") or (volume.get("status") or {}).get("phase") not in (None, "Available"):
        return False
    if (spec.get("storageClassName") or "") != (wanted.get("storageClassName") or ""):
        return False
    if not set(wanted.get("accessModes") or []) <= set(spec.get("accessModes") or []):
        return False
    return bool(_size(volume, "capacity") >= _size(claim, "request"))


def _bind(store: Store, claim: Obj, volume: Obj, provisioner: str) -> None:
    meta = claim["metadata"]
    bound_volume = clone(volume)
    bound_volume["spec"]["claimRef"] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "name": meta["name"],
        "namespace": meta.get("namespace", ""),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    bound_volume["status"] = {"phase": "Bound"}
    stored_volume = store.put(PV_KEY, bound_volume)
    bound = clone(claim)
    bound["spec"]["volumeName"] = stored_volume["metadata"]["name"]
    annotations = bound["metadata"].setdefault("annotations", {})
    annotations["pv.kubernetes.io/bind-completed"] = "yes"
    annotations["pv.kubernetes.io/bound-by-controller"] = "yes"
    if provisioner:
        annotations["volume.beta.kubernetes.io/storage-provisioner"] = provisioner
        annotations["volume.kubernetes.io/storage-provisioner"] = provisioner
    bound["status"] = {
        "phase": "Bound",
        "accessModes": list(stored_volume["spec"].get("accessModes") or []),
        "capacity": dict(stored_volume["spec"].get("capacity") or {}),
    }
    store.put(PVC_KEY, bound)


def _provision(store: Store, claim: Obj, storage_class: Obj) -> None:
    meta, spec = claim["metadata"], claim.get("spec") or {}
    provisioner = str(storage_class.get("provisioner", ""))
    name = f"pvc-{meta.get('uid', '')}"
    where = f"{meta.get('namespace', '')}/{meta['name']}"
    events.record(
        store,
        claim,
        "Provisioning",
        f'External provisioner is provisioning volume for claim "{where}"',
        component=provisioner,
    )
    volume: Obj = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": name,
            "annotations": {"pv.kubernetes.io/provisioned-by": provisioner},
            "finalizers": [PV_PROTECTION],
        },
        "spec": {
            "accessModes": list(spec.get("accessModes") or []),
            "capacity": {
                "storage": (spec.get("resources") or {}).get("requests", {}).get("storage", "1Gi")
            },
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy", "Delete"),
            "storageClassName": storage_class["metadata"]["name"],
            "volumeMode": spec.get("volumeMode", "Filesystem"),
            "hostPath": {
                "path": f"/var/local-path-provisioner/{name}_{where.replace('/', '_')}",
                "type": "DirectoryOrCreate",
            },
        },
        "status": {"phase": "Available"},
    }
    node = (meta.get("annotations") or {}).get(SELECTED_NODE)
    if node:
        volume["spec"]["nodeAffinity"] = {
            "required": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}
                        ]
                    }
                ]
            }
        }
    stored = store.put(PV_KEY, volume)
    _bind(store, claim, stored, provisioner)
    events.record(
        store,
        claim,
        "ProvisioningSucceeded",
        f"Successfully provisioned volume {name}",
        component=provisioner,
    )


def _pending(store: Store, claim: Obj) -> bool:
    spec = claim.get("spec") or {}
    class_name = spec.get("storageClassName")
    volume = next((v for v in store.scan(PV_KEY) if _fits(v, claim)), None)
    if spec.get("volumeName"):
        volume = store.peek(PV_KEY, "", spec["volumeName"])
        if volume is None:
            return False
    if volume is not None:
        _bind(store, claim, volume, "")
        return True
    if not class_name:
        message = "no persistent volumes available for this claim and no storage class is set"
        return events.record(store, claim, "FailedBinding", message, component=CONTROLLER, count=1)
    storage_class = store.peek(SC_KEY, "", str(class_name))
    if storage_class is None:
        message = f'storageclass.storage.k8s.io "{class_name}" not found'
        return events.record(
            store, claim, "ProvisioningFailed", message, "Warning", CONTROLLER, count=1
        )
    waits = storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
    if waits and not (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE):
        message = "waiting for first consumer to be created before binding"
        return events.record(
            store, claim, "WaitForFirstConsumer", message, component=CONTROLLER, count=1
        )
    _provision(store, claim, storage_class)
    return True


def _resize(store: Store, claim: Obj) -> bool:
    status = claim.get("status") or {}
    wanted = _size(claim, "request")
    have = quantity.parse((status.get("capacity") or {}).get("storage") or "0")
    if wanted <= have:
        return False
    volume = store.get(PV_KEY, "", str((claim.get("spec") or {}).get("volumeName", "")))
    if volume is None:
        return False
    size = (claim["spec"].get("resources") or {}).get("requests", {}).get("storage")
    volume["spec"].setdefault("capacity", {})["storage"] = size
    store.put(PV_KEY, volume)
    resized = clone(claim)
    resized["status"]["capacity"] = {"storage": size}
    store.put(PVC_KEY, resized)
    name = volume["metadata"]["name"]
    provisioner = (claim["metadata"].get("annotations") or {}).get(
        "volume.kubernetes.io/storage-provisioner", "external-resizer"
    )
    events.record(
        store,
        claim,
        "Resizing",
        f"External resizer is resizing volume {name}",
        component=provisioner,
    )
    events.record(
        store,
        claim,
        "VolumeResizeSuccessful",
        f'resize volume "{name}" by resizer "{provisioner}" succeeded',
        component=provisioner,
    )
    return True


def _release(store: Store, volume: Obj) -> bool:
    ref = (volume.get("spec") or {}).get("claimRef")
    if not ref or volume["metadata"].get("deletionTimestamp"):
        return False
    claim = store.peek(PVC_KEY, ref.get("namespace", ""), ref.get("name", ""))
    if claim is not None and claim["metadata"].get("uid") == ref.get("uid"):
        return False
    if volume["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
        store.delete(PV_KEY, "", volume["metadata"]["name"])
        return True
    after = clone(volume)
    after["status"] = {"phase": "Released"}
    return save_if_changed(store, PV_KEY, volume, after)


def reconcile(store: Store) -> bool:
    """One pass of the volume controller over every claim and volume."""
    changed = False
    for claim in list(store.scan(PVC_KEY)):
        changed |= _protect(store, PVC_KEY, claim, PVC_PROTECTION, _in_use(store, claim))
        fresh = store.peek(
            PVC_KEY, claim["metadata"].get("namespace", ""), claim["metadata"]["name"]
        )
        if fresh is None or fresh["metadata"].get("deletionTimestamp"):
            continue
        if (fresh.get("status") or {}).get("phase") != "Bound":
            changed |= _pending(store, fresh)
        else:
            changed |= _resize(store, fresh)
    for volume in list(store.scan(PV_KEY)):
        bound = (volume.get("status") or {}).get("phase") == "Bound"
        changed |= _protect(
            store,
            PV_KEY,
            volume,
            PV_PROTECTION,
            bound and not volume["metadata"].get("deletionTimestamp"),
        )
        fresh = store.peek(PV_KEY, "", volume["metadata"]["name"])
        if fresh is None:
            continue
        if not (fresh.get("spec") or {}).get("claimRef") and (fresh.get("status") or {}).get(
            "phase"
        ) in (None, "Pending"):
            after = clone(fresh)
            after["status"] = {"phase": "Available"}
            changed |= save_if_changed(store, PV_KEY, fresh, after)
        changed |= _release(store, fresh)
    return changed
