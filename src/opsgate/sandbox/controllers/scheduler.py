"""The scheduler, and pods built from workload templates.

Called by the workload controllers (`replicasets`, `workloads`, `jobs`, `rollouts`),
`apiserver.cluster` (generated names) and `loop` (`reconcile_pods`). A node fits a pod when it
is schedulable, the pod tolerates its taints, matches its node selector and required node
affinity, and the node's allocatable CPU and memory cover the pod's requests beside those
already placed; the claims the pod mounts must exist and be bound, or wait for their first
consumer. The least-loaded node that fits wins; the kubelet (`containers.kubelet`) then starts
the pod. A pod nothing can take stays Pending with the scheduler's own message (`0/3 nodes are
available: 1 node(s) had untolerated taint {...}, 2 Insufficient memory. preemption: ...`) and
is retried on each pass.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from fractions import Fraction
from typing import Any

from opsgate.sandbox.apiserver import admission, quantity
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso
from opsgate.sandbox.containers import kubelet
from opsgate.sandbox.controllers import events
from opsgate.sandbox.kinds import podspec

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
_NOT_HELPFUL = "Preemption is not helpful for scheduling"
_NO_VICTIMS = "No preemption victims found for incoming pod"


def random_suffix(length: int = 5) -> str:
    """A name suffix in the alphabet Kubernetes uses for generated names."""
    return "".join(secrets.choice(NAME_ALPHABET) for _ in range(length))


def stable_hash(data: str, length: int = 10) -> str:
    """A deterministic short name-safe hash (pod-template-hash)."""
    digest = hashlib.sha256(data.encode()).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:length])


def requests_of(pod: Obj) -> dict[str, Fraction]:
    """The CPU and memory a pod requests (containers summed, init containers at most)."""
    usage = admission.pod_usage(pod)
    return {"cpu": usage["requests.cpu"], "memory": usage["requests.memory"]}


def _tolerated(taint: Obj, tolerations: list[Obj]) -> bool:
    for toleration in tolerations:
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration.get("key") == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get(
            "value", ""
        ):
            return True
    return False


def _expression(labels: dict[str, str], expr: Obj) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    value = labels.get(str(key))
    if op == "In":
        return value in values
    if op == "NotIn":
        return value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def _affinity_fits(pod: Obj, node: Obj) -> bool:
    spec = pod.get("spec") or {}
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
        .get("nodeSelectorTerms")
    )
    if not required:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    return any(
        all(_expression(labels, e) for e in term.get("matchExpressions") or [])
        and all(_expression(fields, e) for e in term.get("matchFields") or [])
        for term in required
    )


def _allocated(store: Store, node_name: str, skip: str) -> dict[str, Fraction]:
    total = {"cpu": Fraction(0), "memory": Fraction(0), "pods": Fraction(0)}
    for other in store.scan("pods"):
        if (other.get("spec") or {}).get("nodeName") != node_name or other["metadata"].get(
            "uid"
        ) == skip:
            continue
        if (other.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for name, amount in requests_of(other).items():
            total[name] += amount
        total["pods"] += 1
    return total


def _why_not(store: Store, pod: Obj, node: Obj) -> list[str]:
    """Why `node` cannot take `pod` (empty when it can)."""
    spec = pod.get("spec") or {}
    if (node.get("spec") or {}).get("unschedulable"):
        return ["node(s) were unschedulable"]
    tolerations = spec.get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(
            taint, tolerations
        ):
            return [
                f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
            ]
    if not _affinity_fits(pod, node):
        return ["node(s) didn't match Pod's node affinity/selector"]
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    used = _allocated(store, node["metadata"]["name"], pod["metadata"].get("uid", ""))
    wanted = requests_of(pod)
    short = []
    if used["pods"] + 1 > quantity.parse(allocatable.get("pods", "110")):
        short.append("Too many pods")
    for name in ("cpu", "memory"):
        if name in allocatable and wanted[name] > quantity.parse(allocatable[name]) - used[name]:
            short.append(f"Insufficient {name}")
    return short


def _claims_block(store: Store, pod: Obj) -> str | None:
    """Why the pod's claims keep it from any node (`persistentvolumeclaim "x" not found`)."""
    namespace = pod["metadata"].get("namespace", "")
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if not claim_name:
            continue
        claim = store.peek("persistentvolumeclaims", namespace, claim_name)
        if claim is None:
            return f'persistentvolumeclaim "{claim_name}" not found'
        if claim["metadata"].get("deletionTimestamp"):
            return f'persistentvolumeclaim "{claim_name}" is being deleted'
        if (claim.get("status") or {}).get("phase") == "Bound":
            continue
        class_name = (claim.get("spec") or {}).get("storageClassName")
        storage_class = store.peek("storageclasses.storage.k8s.io", "", str(class_name or ""))
        waits = (
            storage_class is not None
            and storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
        )
        if not waits:
            return "pod has unbound immediate PersistentVolumeClaims"
    return None


def schedule(store: Store, pod: Obj) -> tuple[Obj | None, str]:
    """The node for a pod (honouring spec.nodeName), or None and the scheduler's message."""
    nodes = store.scan("nodes")
    wanted = (pod.get("spec") or {}).get("nodeName")
    if wanted:
        return next((n for n in nodes if n["metadata"]["name"] == wanted), None), ""
    total = len(nodes)
    blocked = _claims_block(store, pod)
    if blocked is not None:
        return None, (
            f"0/{total} nodes are available: {blocked}. preemption: 0/{total} nodes are "
            f"available: {total} {_NOT_HELPFUL}."
        )
    fitting, reasons, preemption = [], Counter[str](), Counter[str]()
    for node in nodes:
        why = _why_not(store, pod, node)
        if not why:
            fitting.append(node)
            continue
        reasons.update(why)
        resources = any(w.startswith(("Insufficient", "Too many")) for w in why)
        preemption[_NO_VICTIMS if resources else _NOT_HELPFUL] += 1
    if not fitting:
        listed = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
        after = ", ".join(sorted(f"{count} {reason}" for reason, count in preemption.items()))
        tail = f" preemption: 0/{total} nodes are available: {after}." if total else ""
        return (
            None,
            f"0/{total} nodes are available: "
            f"{listed or 'no nodes available to schedule pods'}.{tail}",
        )
    load = {n["metadata"]["name"]: 0 for n in fitting}
    for other in store.scan("pods"):
        name = (other.get("spec") or {}).get("nodeName")
        if name in load:
            load[name] += 1
    return min(fitting, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"])), ""


def _unschedulable(pod: Obj, message: str) -> Obj:
    return {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": None,
                "lastTransitionTime": now_iso(),
            }
        ],
        "qosClass": kubelet.qos_class(pod),
    }


def _select_claims(store: Store, pod: Obj, node: Obj) -> None:
    """Tell waiting claims which node their first consumer landed on (they provision there)."""
    namespace = pod["metadata"].get("namespace", "")
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        claim = store.peek("persistentvolumeclaims", namespace, str(claim_name or ""))
        if claim is None or (claim.get("status") or {}).get("phase") == "Bound":
            continue
        annotations = claim["metadata"].get("annotations") or {}
        if annotations.get(SELECTED_NODE) != node["metadata"]["name"]:
            updated = clone(claim)
            updated["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node["metadata"][
                "name"
            ]
            store.put("persistentvolumeclaims", updated)


def _bind(store: Store, pod: Obj, node: Obj) -> Obj:
    _select_claims(store, pod, node)
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


def _pending(store: Store, pod: Obj, message: str) -> Obj:
    pod["status"] = _unschedulable(pod, message)
    stored = store.put("pods", pod)
    events.record(
        store, stored, "FailedScheduling", message, "Warning", component="default-scheduler"
    )
    return stored


def start_pod(store: Store, pod: Obj) -> Obj:
    """Schedule a new pod, store it, and let the kubelet start it; returns the stored pod."""
    node, message = schedule(store, pod)
    if node is None:
        return _pending(store, pod, message or "0/0 nodes are available")
    if pod.get("spec", {}).get("nodeName"):
        stored = store.put("pods", pod)
    else:
        stored = _bind(store, pod, node)
    kubelet.sync(store, stored)
    found = store.get("pods", stored["metadata"].get("namespace", ""), stored["metadata"]["name"])
    return found if found is not None else stored


def create_pod(store: Store, pod: Obj, owner: Obj, component: str) -> Obj | str:
    """A controller's new pod, through admission as any pod: the stored pod (and a
    `SuccessfulCreate` event on the owner), or why admission refused it."""
    try:
        admitted = admission.admit_pod(store, pod)
    except ApiError as e:
        return f"Error creating: {e.message}"
    made = start_pod(store, admitted)
    events.record(
        store,
        owner,
        "SuccessfulCreate",
        f"Created pod: {made['metadata']['name']}",
        component=component,
    )
    return made


def failed_create(store: Store, owner: Obj, message: str, component: str, before: str) -> None:
    """Report a refused pod on its owner (once per distinct refusal, as the back-off would)."""
    if message != before:
        events.record(store, owner, "FailedCreate", message, "Warning", component)


def place(store: Store, pod: Obj) -> bool:
    """Retry a Pending pod: bind it once a node can take it, or refresh why none can."""
    node, message = schedule(store, pod)
    if node is None:
        condition: Obj = next(
            (
                c
                for c in (pod.get("status") or {}).get("conditions") or []
                if c.get("type") == "PodScheduled"
            ),
            {},
        )
        if condition.get("message") == message:
            return False
        _pending(store, pod, message)
        return True
    pod.pop("status", None)
    _bind(store, pod, node)
    return True


def pod_from_template(template: Obj, name: str, namespace: str, owner: Obj) -> Obj:
    """A pod object for a workload's template, owned by `owner` (not stored yet)."""
    meta: Any = template.get("metadata", {})
    spec = clone(dict(template.get("spec", {})))
    podspec.defaults(spec)
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


def reconcile_pods(store: Store) -> bool:
    """The scheduler's pass: start pods that have no status yet, and retry Pending ones."""
    changed = False
    for pod in list(store.scan("pods")):
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if not pod.get("status", {}).get("phase"):
            start_pod(store, clone(pod))
            changed = True
        elif not pod.get("spec", {}).get("nodeName"):
            changed |= place(store, clone(pod))
    return changed
