"""The `metrics.k8s.io/v1beta1` API (`kubectl top pods|nodes`) computed from running pods.

Called by `api` and the HPA controller (`controllers.autoscaling`). Usage figures are stable
per pod (derived from its name) so output is reproducible within a session; a pod annotated
`sandbox.opsgate.dev/cpu-usage: 250m` uses that much CPU in each container (simulated load).
"""

from __future__ import annotations

import hashlib
import math

from opsgate.sandbox.apiserver import quantity
from opsgate.sandbox.apiserver.store import Obj, Store, now_iso

CPU_ANNOTATION = "sandbox.opsgate.dev/cpu-usage"


def _figure(name: str, low: int, high: int) -> int:
    return low + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16) % (high - low)


def cpu_millicores(pod: Obj, container: Obj) -> int:
    """The CPU a container uses now, in millicores."""
    load = (pod["metadata"].get("annotations") or {}).get(CPU_ANNOTATION)
    if load is not None:
        try:
            return math.ceil(quantity.parse(load) * 1000)
        except quantity.QuantityError:
            pass
    return _figure(pod["metadata"]["name"] + container.get("name", ""), 1, 200)


def pod_metrics(pod: Obj) -> Obj:
    """The PodMetrics of one pod."""
    meta = pod["metadata"]
    containers = [
        {
            "name": c.get("name", ""),
            "usage": {
                "cpu": f"{cpu_millicores(pod, c)}m",
                "memory": f"{_figure(meta['name'] + 'mem', 16, 512)}Mi",
            },
        }
        for c in pod.get("spec", {}).get("containers", [])
    ]
    return {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "labels": meta.get("labels", {}),
            "creationTimestamp": now_iso(),
        },
        "timestamp": now_iso(),
        "window": "30s",
        "containers": containers,
    }


def node_metrics(store: Store, node: Obj) -> Obj:
    """The NodeMetrics of one node: the sum of its running pods plus a system share."""
    name = node["metadata"]["name"]
    cpu, memory = 150, 900
    for pod in store.list("pods"):
        if (
            pod.get("spec", {}).get("nodeName") == name
            and pod.get("status", {}).get("phase") == "Running"
        ):
            for container in pod_metrics(pod)["containers"]:
                cpu += int(container["usage"]["cpu"][:-1])
                memory += int(container["usage"]["memory"][:-2])
    return {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": name,
            "labels": node["metadata"].get("labels", {}),
            "creationTimestamp": now_iso(),
        },
        "timestamp": now_iso(),
        "window": "30s",
        "usage": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"},
    }


def running_pods(store: Store, namespace: str | None) -> list[Obj]:
    """Pods that have metrics (Running phase)."""
    return [
        p for p in store.list("pods", namespace) if p.get("status", {}).get("phase") == "Running"
    ]
