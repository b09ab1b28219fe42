"""Simulated pods: generated names, scheduling onto nodes, and pods built from workload templates.

Called by the workload controllers (`controllers`, `workloads`, `rollouts`) and `cluster`
(generated names). `start_pod` places a new pod on the least-loaded schedulable node and lets
the `kubelet` give it its status at once; a pod no node can take stays Pending
(`FailedScheduling`) until `place` finds it a node on a later pass.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from opsgate.sandbox import events, kubelet
from opsgate.sandbox.store import Obj, Store, now_iso

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(length: int = 5) -> str:
    """A name suffix in the alphabet Kubernetes uses for generated names."""
    return "".join(secrets.choice(NAME_ALPHABET) for _ in range(length))


def stable_hash(data: str, length: int = 10) -> str:
    """A deterministic short name-safe hash (pod-template-hash)."""
    digest = hashlib.sha256(data.encode()).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:length])


def schedule(store: Store, pod: Obj) -> Obj | None:
    """The least-loaded schedulable node for a pod (honouring spec.nodeName), or None."""
    nodes = store.scan("nodes")
    wanted = pod.get("spec", {}).get("nodeName")
    if wanted:
        return next((n for n in nodes if n["metadata"]["name"] == wanted), None)
    candidates = [
        n
        for n in nodes
        if not n.get("spec", {}).get("unschedulable")
        and not any(t.get("effect") == "NoSchedule" for t in n.get("spec", {}).get("taints") or [])
    ]
    if not candidates:
        return None
    load: dict[str, int] = {n["metadata"]["name"]: 0 for n in candidates}
    for other in store.scan("pods"):
        name = other.get("spec", {}).get("nodeName")
        if name in load:
            load[name] += 1
    return min(candidates, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))


def _unschedulable(store: Store) -> Obj:
    total = len(store.scan("nodes"))
    return {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": f"0/{total} nodes are available: no node is schedulable.",
                "lastProbeTime": None,
                "lastTransitionTime": now_iso(),
            }
        ],
        "qosClass": "BestEffort",
    }


def _bind(store: Store, pod: Obj, node: Obj) -> Obj:
    pod.setdefault("spec", {})["nodeName"] = node["metadata"]["name"]
    stored = store.put("pods", pod)
    where = f"{stored['metadata'].get('namespace')}/{stored['metadata']['name']}"
    events.record(
        store,
        stored,
        "Scheduled",
        f"Successfully assigned {where} to {node['metadata']['name']}",
        component="default-scheduler",
    )
    return stored


def start_pod(store: Store, pod: Obj) -> Obj:
    """Schedule a new pod, store it, and let the kubelet start it; returns the stored pod."""
    node = schedule(store, pod)
    if node is None:
        pod["status"] = _unschedulable(store)
        stored = store.put("pods", pod)
        message = pod["status"]["conditions"][0]["message"]
        events.record(
            store, stored, "FailedScheduling", message, "Warning", component="default-scheduler"
        )
        return stored
    if pod.get("spec", {}).get("nodeName"):
        stored = store.put("pods", pod)
    else:
        stored = _bind(store, pod, node)
    kubelet.sync(store, stored)
    found = store.get("pods", stored["metadata"].get("namespace", ""), stored["metadata"]["name"])
    return found if found is not None else stored


def place(store: Store, pod: Obj) -> bool:
    """Bind a pod left Pending for want of a node once one can take it; True when bound."""
    node = schedule(store, pod)
    if node is None:
        return False
    pod.pop("status", None)
    _bind(store, pod, node)
    return True


def pod_from_template(template: Obj, name: str, namespace: str, owner: Obj) -> Obj:
    """A pod object for a workload's template, owned by `owner` (not stored yet)."""
    meta: Any = template.get("metadata", {})
    spec = dict(template.get("spec", {}))
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(meta.get("labels") or {}),
            "annotations": dict(meta.get("annotations") or {}),
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": spec,
    }


def owner_reference(owner: Obj) -> Obj:
    """A controller ownerReference pointing at `owner`."""
    return {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
