"""The StatefulSet controller: ordered pods with stable names, hostnames and claims.

Registered in `loop.CONTROLLERS`. Pods are `<name>-0..n-1`, each with `hostname` its name and
`subdomain` the governing Service (so `<pod>.<service>` resolves), the labels
`statefulset.kubernetes.io/pod-name` and `controller-revision-hash`, and one claim per
`volumeClaimTemplates` entry (`<template>-<pod>`), created before the pod and kept when it or
the set goes, as the real controller does. With `OrderedReady` (the default) pod `i` is made
only once pods `0..i-1` are Ready, and scale-down removes the highest ordinal first, one at a
time; `Parallel` makes and removes them all at once. A template change rolls pods from the
highest ordinal down, each replaced once the others are Ready (`RollingUpdate`), or only when
deleted (`OnDelete`).
"""

from __future__ import annotations

from opsgate.sandbox.apiserver import admission
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj, Store, clone
from opsgate.sandbox.controllers import events, scheduler
from opsgate.sandbox.controllers.owners import owned_pods, pod_counts, template_hash

KEY = "statefulsets.apps"
REVISION = "controller-revision-hash"
COMPONENT = "statefulset-controller"
CLAIMS = Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims")


def _ready(pod: Obj) -> bool:
    return pod_counts([pod])[1] == 1


def _ordinal(pod: Obj) -> int:
    tail = pod["metadata"]["name"].rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _claims(store: Store, sts: Obj, pod_name: str) -> list[Obj]:
    """Make the pod's claims from the templates (when missing); its volumes for them."""
    namespace = sts["metadata"]["namespace"]
    volumes = []
    for template in sts["spec"].get("volumeClaimTemplates") or []:
        base = template["metadata"]["name"]
        claim_name = f"{base}-{pod_name}"
        if store.peek("persistentvolumeclaims", namespace, claim_name) is None:
            labels = dict((sts["spec"].get("selector") or {}).get("matchLabels") or {})
            claim = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": claim_name, "namespace": namespace, "labels": labels},
                "spec": clone(template.get("spec") or {}),
            }
            # Through admission as any claim: the default StorageClass, quotas.
            admission.admit_claim(store, claim, None)
            admission.check_quota(store, CLAIMS, claim)
            store.put("persistentvolumeclaims", claim)
            owner = sts["metadata"]["name"]
            message = f"create Claim {claim_name} Pod {pod_name} in StatefulSet {owner} success"
            events.record(store, sts, "SuccessfulCreate", message, component=COMPONENT)
        volumes.append({"name": base, "persistentVolumeClaim": {"claimName": claim_name}})
    return volumes


def _make(store: Store, sts: Obj, index: int, revision: str) -> bool:
    """Create ordinal `index`; True when anything was written (the pod, or why it failed)."""
    meta = sts["metadata"]
    pod_name = f"{meta['name']}-{index}"
    try:
        volumes = _claims(store, sts, pod_name)
    except ApiError as e:
        where = f"Pod {pod_name} in StatefulSet {meta['name']}"
        message = f"create Claim for {where} failed error: {e.message}"
        return events.record(store, sts, "FailedCreate", message, "Warning", COMPONENT, count=1)
    pod = scheduler.pod_from_template(sts["spec"]["template"], pod_name, meta["namespace"], sts)
    pod["metadata"]["labels"].update(
        {
            REVISION: revision,
            "statefulset.kubernetes.io/pod-name": pod_name,
            "apps.kubernetes.io/pod-index": str(index),
        }
    )
    spec = pod["spec"]
    spec["hostname"] = pod_name
    if sts["spec"].get("serviceName"):
        spec["subdomain"] = sts["spec"]["serviceName"]
    names = {v.get("name") for v in spec.get("volumes") or []}
    spec["volumes"] = [
        *(spec.get("volumes") or []),
        *(v for v in volumes if v["name"] not in names),
    ]
    made = scheduler.create_pod(store, pod, sts, COMPONENT)
    if isinstance(made, str):
        message = f"create Pod {pod_name} in StatefulSet {meta['name']} failed error: {made}"
        return events.record(store, sts, "FailedCreate", message, "Warning", COMPONENT, count=1)
    return True


def reconcile_statefulset(store: Store, sts: Obj) -> bool:
    """One step of the StatefulSet toward its replicas and template, and its status."""
    meta, spec = sts["metadata"], sts["spec"]
    namespace, name = meta["namespace"], meta["name"]
    desired = int(spec.get("replicas", 1))
    parallel = spec.get("podManagementPolicy") == "Parallel"
    revision = f"{name}-{template_hash(spec['template'])}"
    pods = sorted(
        (p for p in owned_pods(store, sts) if not p["metadata"].get("deletionTimestamp")),
        key=_ordinal,
    )
    by_index = {_ordinal(p): p for p in pods}
    changed = False
    for index in range(desired):
        if index in by_index:
            continue
        if not parallel and not all(_ready(by_index[i]) for i in range(index) if i in by_index):
            break
        changed |= _make(store, sts, index, revision)
        if not parallel:
            break
    extra = [p for p in pods if _ordinal(p) >= desired]
    all_ready = all(_ready(p) for p in pods)
    for pod in sorted(extra, key=_ordinal, reverse=True):
        # The real controller does not scale down while any pod is unhealthy.
        if not parallel and not all_ready:
            break
        store.delete("pods", namespace, pod["metadata"]["name"])
        changed = True
        if not parallel:
            break
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    kept = [p for p in pods if _ordinal(p) < desired]
    outdated = [p for p in kept if p["metadata"]["labels"].get(REVISION) != revision]
    if not changed and outdated and strategy == "RollingUpdate" and all(_ready(p) for p in kept):
        store.delete("pods", namespace, outdated[-1]["metadata"]["name"])
        changed = True
    current = [p for p in owned_pods(store, sts) if not p["metadata"].get("deletionTimestamp")]
    total, ready = pod_counts(current)
    updated = sum(1 for p in current if p["metadata"]["labels"].get(REVISION) == revision)
    old_revision = (sts.get("status") or {}).get("currentRevision", revision)
    status = {
        "replicas": total,
        "readyReplicas": ready,
        "currentReplicas": total if updated == total else total - updated,
        "updatedReplicas": updated,
        "availableReplicas": ready,
        "observedGeneration": meta.get("generation", 1),
        "currentRevision": revision if updated == total else old_revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }
    fresh = store.get(KEY, namespace, name)
    if fresh is not None and fresh.get("status") != status:
        store.put(KEY, {**fresh, "status": status})
        changed = True
    return changed
