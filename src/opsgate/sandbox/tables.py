"""Server-side Table output (`Accept: ...;as=Table;g=meta.k8s.io`), the columns `kubectl get` shows.

Called by `api` for get/list/watch requests that ask for a Table. Each kind has the columns a
real API server prints (pods READY/STATUS/RESTARTS/AGE, deployments READY/UP-TO-DATE/...).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opsgate.sandbox.store import Obj, parse_time

Column = tuple[str, str, int]
"""(name, type, priority); priority 1 columns appear only with `-o wide`."""


def human_age(timestamp: str | None) -> str:
    """A duration like kubectl prints it: 45s, 12m, 5h, 3d."""
    if not timestamp:
        return "<unknown>"
    seconds = int((datetime.now(UTC) - parse_time(timestamp)).total_seconds())
    seconds = max(seconds, 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _age(obj: Obj) -> str:
    return human_age(obj["metadata"].get("creationTimestamp"))


def pod_status_reason(pod: Obj) -> str:
    """The STATUS column of a pod (Running, CrashLoopBackOff, ImagePullBackOff, ...)."""
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "Pending")
    # As kubectl's printer: the first container with a waiting or terminated reason wins.
    for cs in reversed(status.get("containerStatuses", [])):
        waiting = cs.get("state", {}).get("waiting")
        terminated = cs.get("state", {}).get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
    return str(reason)


def _containers(obj: Obj) -> list[Obj]:
    spec = obj.get("spec", {})
    template = spec.get("template", {}).get("spec", spec)
    return list(template.get("containers", []))


def _pod_row(pod: Obj) -> list[Any]:
    statuses = pod.get("status", {}).get("containerStatuses", [])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount", 0)) for cs in statuses)
    restart_cell = str(restarts)
    last = [cs.get("lastState", {}).get("terminated", {}).get("finishedAt") for cs in statuses]
    last_finished = [t for t in last if t]
    if restarts and last_finished:
        restart_cell = f"{restarts} ({human_age(max(last_finished))} ago)"
    spec, status = pod.get("spec", {}), pod.get("status", {})
    return [
        f"{ready}/{len(spec.get('containers', []))}",
        pod_status_reason(pod),
        restart_cell,
        _age(pod),
        status.get("podIP", "<none>"),
        spec.get("nodeName", "<none>"),
        "<none>",
        "<none>",
    ]


def _workload_extra(obj: Obj) -> list[Any]:
    containers = _containers(obj)
    selector = obj.get("spec", {}).get("selector", {}).get("matchLabels", {})
    return [
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        ",".join(f"{k}={v}" for k, v in selector.items()) or "<none>",
    ]


def _deploy_row(obj: Obj) -> list[Any]:
    st = obj.get("status", {})
    desired = obj.get("spec", {}).get("replicas", 1)
    return [
        f"{st.get('readyReplicas', 0)}/{desired}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        _age(obj),
        *_workload_extra(obj),
    ]


def _rs_row(obj: Obj) -> list[Any]:
    st = obj.get("status", {})
    return [
        obj.get("spec", {}).get("replicas", 1),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        _age(obj),
        *_workload_extra(obj),
    ]


def _sts_row(obj: Obj) -> list[Any]:
    st = obj.get("status", {})
    extra = _workload_extra(obj)[:2]
    return [
        f"{st.get('readyReplicas', 0)}/{obj.get('spec', {}).get('replicas', 1)}",
        _age(obj),
        *extra,
    ]


def _ds_row(obj: Obj) -> list[Any]:
    st = obj.get("status", {})
    node_selector = (
        obj.get("spec", {}).get("template", {}).get("spec", {}).get("nodeSelector") or {}
    )
    return [
        st.get("desiredNumberScheduled", 0),
        st.get("currentNumberScheduled", 0),
        st.get("numberReady", 0),
        st.get("updatedNumberScheduled", 0),
        st.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in node_selector.items()) or "<none>",
        _age(obj),
        *_workload_extra(obj),
    ]


def _svc_row(obj: Obj) -> list[Any]:
    spec = obj.get("spec", {})
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports", []))
    selector = ",".join(f"{k}={v}" for k, v in (spec.get("selector") or {}).items())
    return [
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP", "<none>"),
        "<none>",
        ports or "<none>",
        _age(obj),
        selector or "<none>",
    ]


def _node_row(obj: Obj) -> list[Any]:
    conditions = obj.get("status", {}).get("conditions", [])
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    status = "Ready" if ready else "NotReady"
    if obj.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    labels = obj["metadata"].get("labels", {})
    roles = ",".join(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = obj.get("status", {}).get("nodeInfo", {})
    addresses = {
        a.get("type"): a.get("address") for a in obj.get("status", {}).get("addresses", [])
    }
    return [
        status,
        roles or "<none>",
        _age(obj),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        "<none>",
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _event_row(obj: Obj) -> list[Any]:
    involved = obj.get("involvedObject", {})
    last = (
        obj.get("lastTimestamp") or obj.get("eventTime") or obj["metadata"].get("creationTimestamp")
    )
    return [
        human_age(last),
        obj.get("type", "Normal"),
        obj.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        obj.get("message", ""),
    ]


def _job_row(obj: Obj) -> list[Any]:
    st = obj.get("status", {})
    complete = any(c.get("type") == "Complete" for c in st.get("conditions", []))
    duration = "0s"
    if st.get("completionTime") and st.get("startTime"):
        seconds = int(
            (parse_time(st["completionTime"]) - parse_time(st["startTime"])).total_seconds()
        )
        duration = f"{max(seconds, 1)}s"
    completions = obj.get("spec", {}).get("completions", 1)
    status = "Complete" if complete else "Running"
    return [status, f"{st.get('succeeded', 0)}/{completions}", duration, _age(obj)]


def _rollout_row(obj: Obj) -> list[Any]:
    st = obj.get("status", {})
    return [
        obj.get("spec", {}).get("replicas", 1),
        st.get("replicas", 0),
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        _age(obj),
    ]


_S, _I = "string", "integer"
TABLES: dict[str, tuple[list[Column], Callable[[Obj], list[Any]]]] = {
    "Pod": (
        [
            ("Ready", _S, 0),
            ("Status", _S, 0),
            ("Restarts", _S, 0),
            ("Age", _S, 0),
            ("IP", _S, 1),
            ("Node", _S, 1),
            ("Nominated Node", _S, 1),
            ("Readiness Gates", _S, 1),
        ],
        _pod_row,
    ),
    "Deployment": (
        [
            ("Ready", _S, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _deploy_row,
    ),
    "ReplicaSet": (
        [
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _rs_row,
    ),
    "StatefulSet": (
        [("Ready", _S, 0), ("Age", _S, 0), ("Containers", _S, 1), ("Images", _S, 1)],
        _sts_row,
    ),
    "DaemonSet": (
        [
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Node Selector", _S, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ],
        _ds_row,
    ),
    "Service": (
        [
            ("Type", _S, 0),
            ("Cluster-IP", _S, 0),
            ("External-IP", _S, 0),
            ("Port(s)", _S, 0),
            ("Age", _S, 0),
            ("Selector", _S, 1),
        ],
        _svc_row,
    ),
    "ConfigMap": (
        [("Data", _I, 0), ("Age", _S, 0)],
        lambda o: [len(o.get("data", {})) + len(o.get("binaryData", {})), _age(o)],
    ),
    "Secret": (
        [("Type", _S, 0), ("Data", _I, 0), ("Age", _S, 0)],
        lambda o: [o.get("type", "Opaque"), len(o.get("data", {})), _age(o)],
    ),
    "Namespace": (
        [("Status", _S, 0), ("Age", _S, 0)],
        lambda o: [o.get("status", {}).get("phase", "Active"), _age(o)],
    ),
    "Node": (
        [
            ("Status", _S, 0),
            ("Roles", _S, 0),
            ("Age", _S, 0),
            ("Version", _S, 0),
            ("Internal-IP", _S, 1),
            ("External-IP", _S, 1),
            ("OS-Image", _S, 1),
            ("Kernel-Version", _S, 1),
            ("Container-Runtime", _S, 1),
        ],
        _node_row,
    ),
    "Event": (
        [
            ("Last Seen", _S, 0),
            ("Type", _S, 0),
            ("Reason", _S, 0),
            ("Object", _S, 0),
            ("Message", _S, 0),
        ],
        _event_row,
    ),
    "Job": (
        [("Status", _S, 0), ("Completions", _S, 0), ("Duration", _S, 0), ("Age", _S, 0)],
        _job_row,
    ),
    "Rollout": (
        [
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Age", _S, 0),
        ],
        _rollout_row,
    ),
}


def table(kind: str, objects: list[Obj], resource_version: str, include_object: str) -> Obj:
    """A `meta.k8s.io/v1` Table for objects of one kind; NAME is always the first column."""
    columns, row_fn = TABLES.get(kind, ([("Age", _S, 0)], lambda o: [_age(o)]))
    if kind == "Event":
        name_col: list[Column] = []
    else:
        name_col = [("Name", _S, 0)]
    definitions = [
        {
            "name": name,
            "type": typ,
            "format": "name" if name == "Name" else "",
            "description": "",
            "priority": priority,
        }
        for name, typ, priority in [*name_col, *columns]
    ]
    rows = []
    for obj in objects:
        cells = row_fn(obj)[: len(columns)]
        if name_col:
            cells = [obj["metadata"]["name"], *cells]
        row: Obj = {"cells": cells}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
