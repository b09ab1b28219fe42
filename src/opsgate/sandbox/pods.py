"""Simulated pods: scheduling onto nodes, container status, and Kubernetes events.

Called by `controllers` (workload controllers create pods here) and `api` (evictions).
The behaviour rule of a simulated container:

- an image whose tag contains `bad` or `doesnotexist` never pulls: the pod stays Pending
  with `ImagePullBackOff`;
- a pod template annotated `sandbox.opsgate.dev/behavior: CrashLoopBackOff` runs, crashes and
  restarts forever (`CrashLoopBackOff`, restarts > 0, last exit code 1);
- every other container is Running and Ready at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from opsgate.sandbox.store import Obj, Store, now_iso

BEHAVIOR_ANNOTATION = "sandbox.opsgate.dev/behavior"
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def random_suffix(length: int = 5) -> str:
    """A name suffix in the alphabet Kubernetes uses for generated names."""
    return "".join(secrets.choice(NAME_ALPHABET) for _ in range(length))


def stable_hash(data: str, length: int = 10) -> str:
    """A deterministic short name-safe hash (pod-template-hash)."""
    digest = hashlib.sha256(data.encode()).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:length])


def image_is_bad(image: str) -> bool:
    """Whether the simulated registry refuses this image (tag contains `bad`/`doesnotexist`)."""
    name = image.rsplit("/", 1)[-1]
    tag = name.split(":", 1)[1] if ":" in name else ""
    return "bad" in tag or "doesnotexist" in tag


def pod_behavior(pod: Obj) -> str:
    """`ImagePullBackOff`, `CrashLoopBackOff` or `Running` for a pod's spec."""
    if any(image_is_bad(c.get("image", "")) for c in pod.get("spec", {}).get("containers", [])):
        return "ImagePullBackOff"
    annotations = pod.get("metadata", {}).get("annotations") or {}
    if annotations.get(BEHAVIOR_ANNOTATION) == "CrashLoopBackOff":
        return "CrashLoopBackOff"
    refs = pod.get("metadata", {}).get("ownerReferences") or []
    if any(ref.get("kind") == "Job" for ref in refs):
        return "Completed"
    return "Running"


def _ago(seconds: int) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _container_status(container: Obj, behavior: str, started: str, pod_uid: str) -> Obj:
    image = container.get("image", "")
    status: Obj = {
        "name": container.get("name", ""),
        "image": image,
        "imageID": "",
        "restartCount": 0,
        "ready": False,
        "started": False,
    }
    if behavior == "ImagePullBackOff" and image_is_bad(image):
        status["state"] = {
            "waiting": {
                "reason": "ImagePullBackOff",
                "message": f'Back-off pulling image "{image}"',
            }
        }
        return status
    status["imageID"] = f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
    status["containerID"] = f"containerd://{hashlib.sha256((pod_uid + image).encode()).hexdigest()}"
    if behavior == "Completed":
        status["state"] = {
            "terminated": {
                "exitCode": 0,
                "reason": "Completed",
                "startedAt": started,
                "finishedAt": started,
            }
        }
        return status
    if behavior == "CrashLoopBackOff":
        status["restartCount"] = 5
        status["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 2m40s restarting failed container={container.get('name')}",
            }
        }
        status["lastState"] = {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": _ago(40),
                "finishedAt": _ago(38),
            }
        }
        return status
    status.update(ready=True, started=True, state={"running": {"startedAt": started}})
    return status


def pod_status(pod: Obj, node: Obj | None, pod_ip: str) -> Obj:
    """The full simulated status of a pod scheduled on `node` (None: unschedulable)."""
    now = now_iso()
    if node is None:
        return {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/0 nodes are available: no schedulable nodes.",
                    "lastTransitionTime": now,
                }
            ],
            "qosClass": "BestEffort",
        }
    behavior = pod_behavior(pod)
    uid = pod["metadata"].get("uid", "")
    statuses = [
        _container_status(c, behavior, now, uid) for c in pod.get("spec", {}).get("containers", [])
    ]
    ready = all(s["ready"] for s in statuses)
    flag = "True" if ready else "False"
    conditions = [
        {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
        {"type": "Initialized", "status": "True", "lastTransitionTime": now},
        {"type": "Ready", "status": flag, "lastTransitionTime": now},
        {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
    ]
    if not ready:
        for cond in conditions[2:4]:
            cond["reason"] = "ContainersNotReady"
    addresses = {a["type"]: a["address"] for a in node.get("status", {}).get("addresses", [])}
    return {
        "phase": {"ImagePullBackOff": "Pending", "Completed": "Succeeded"}.get(behavior, "Running"),
        "conditions": conditions,
        "hostIP": addresses.get("InternalIP", ""),
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    }


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


def record_event(
    store: Store,
    obj: Obj,
    reason: str,
    message: str,
    event_type: str = "Normal",
    component: str = "kubelet",
) -> None:
    """Store a core/v1 Event about an object, like the kubelet and controllers emit."""
    meta = obj["metadata"]
    now = now_iso()
    namespace = meta.get("namespace") or "default"
    event: Obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion", "v1"),
            "kind": obj.get("kind", ""),
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid", ""),
        },
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": event_type,
        "reportingComponent": component,
        "reportingInstance": "",
    }
    store.put("events", event)


def start_pod(store: Store, pod: Obj) -> Obj:
    """Schedule a pod, fill in its status, store it and emit the kubelet's events."""
    node = schedule(store, pod)
    spec = pod.setdefault("spec", {})
    if node is not None:
        spec["nodeName"] = node["metadata"]["name"]
    ip = f"10.244.{len(store.objects) % 250}.{secrets.randbelow(250) + 2}"
    stored = store.put("pods", pod)
    stored["status"] = pod_status(stored, node, ip)
    stored = store.put("pods", stored)
    _pod_events(store, stored, node)
    return stored


def _pod_events(store: Store, pod: Obj, node: Obj | None) -> None:
    name = f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
    if node is None:
        record_event(
            store,
            pod,
            "FailedScheduling",
            "0/0 nodes are available.",
            "Warning",
            "default-scheduler",
        )
        return
    record_event(
        store,
        pod,
        "Scheduled",
        f"Successfully assigned {name} to {node['metadata']['name']}",
        component="default-scheduler",
    )
    behavior = pod_behavior(pod)
    for container in pod.get("spec", {}).get("containers", []):
        image, cname = container.get("image", ""), container.get("name", "")
        record_event(store, pod, "Pulling", f'Pulling image "{image}"')
        if behavior == "ImagePullBackOff" and image_is_bad(image):
            failure = (
                f'Failed to pull image "{image}": rpc error: code = NotFound '
                f"desc = {image}: not found"
            )
            record_event(store, pod, "Failed", failure, "Warning")
            record_event(store, pod, "Failed", "Error: ErrImagePull", "Warning")
            record_event(store, pod, "BackOff", f'Back-off pulling image "{image}"', "Normal")
            continue
        record_event(store, pod, "Pulled", f'Successfully pulled image "{image}"')
        record_event(store, pod, "Created", f"Created container: {cname}")
        record_event(store, pod, "Started", f"Started container {cname}")
        if behavior == "CrashLoopBackOff":
            record_event(
                store,
                pod,
                "BackOff",
                f"Back-off restarting failed container {cname} in pod {name}",
                "Warning",
            )


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
