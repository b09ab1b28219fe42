"""Defaulting applied when objects are created or replaced, as the real API server does.

Called by `api` before storing a new or replaced object.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from opsgate.sandbox.apiserver.store import Obj


def _pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    for container in spec.get("containers", []):
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
        container.setdefault("resources", {})


def apply_defaults(kind: str, obj: Obj) -> Obj:
    """Fill in the defaults of a kind in place (and return the object)."""
    spec = (
        obj.setdefault("spec", {})
        if kind not in ("ConfigMap", "Secret", "Event", "ServiceAccount")
        else {}
    )
    meta = obj.setdefault("metadata", {})
    if kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        spec.setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "Rollout"):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        if kind == "StatefulSet":
            spec.setdefault(
                "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
            )
            spec.setdefault("podManagementPolicy", "OrderedReady")
        if kind == "Deployment":
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy",
                {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                },
            )
        _pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
    elif kind == "DaemonSet":
        spec.setdefault(
            "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
        )
        _pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
    elif kind == "Pod":
        _pod_spec(spec)
    elif kind == "Service":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("clusterIP", f"10.96.{secrets.randbelow(250)}.{secrets.randbelow(250) + 2}")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports", []):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if spec["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
                port["nodePort"] = 30000 + secrets.randbelow(2768)
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
    elif kind == "Node":
        obj.setdefault("status", {})
    if (
        isinstance(spec, dict)
        and not spec
        and kind in ("ConfigMap", "Secret", "Event", "ServiceAccount")
    ):
        obj.pop("spec", None)
    return obj
