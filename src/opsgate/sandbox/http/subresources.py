"""Reading subresources (scale, log), the Scale of a workload, and the computed API groups.

Called by `api` for reads and by `writes` (`set_scale`). Attach and port-forward are
refused (exec is `remotecommand`). Computed groups: `metrics.k8s.io` (from pods and nodes),
`authorization.k8s.io` and `authentication.k8s.io` (reviews answered by RBAC, see
`reviews`) and `events.k8s.io` (a read-only view of the core events).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from opsgate.sandbox.apiserver import rbac, selectors
from opsgate.sandbox.apiserver.cluster import Cluster
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.resources import Resource, Target
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.containers import logs, metrics
from opsgate.sandbox.http import protobuf, reviews

REVIEW_GROUPS = ("authorization.k8s.io", "authentication.k8s.io")
VIRTUAL_GROUPS = ("metrics.k8s.io", *REVIEW_GROUPS, "events.k8s.io")
STREAMING = ("exec", "attach", "portforward")
STREAMING_UNSUPPORTED = (
    "attach and port-forward are not supported by the sandbox (no processes run here); use "
    "kubectl exec, logs or describe"
)


def storage_key(res: Resource) -> str:
    """Where a resource's objects live in the store."""
    return res.key


def scale_of(obj: Obj) -> Obj:
    """The `autoscaling/v1` Scale of a workload."""
    meta = obj["metadata"]
    selector = obj.get("spec", {}).get("selector", {}).get("matchLabels", {})
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 1)},
        "status": {
            "replicas": obj.get("status", {}).get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in selector.items()),
        },
    }


def set_scale(
    cluster: Cluster, res: Resource, namespace: str, name: str, scale: Obj, dry_run: bool
) -> Obj:
    """Set `spec.replicas` from a Scale and return the new Scale."""
    obj = cluster.get(res, namespace, name)
    replicas = scale.get("spec", {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise ApiError(
            422,
            "Invalid",
            f"Scale.autoscaling {name!r} is invalid: spec.replicas: must be a non-negative integer",
        )
    obj["spec"]["replicas"] = replicas
    return scale_of(cluster.update(res, namespace, name, obj, dry_run=dry_run))


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def read(cluster: Cluster, request: Request, target: Target) -> tuple[Any, int]:
    """GET of the scale and log subresources (an eviction can only be created)."""
    res, ns, name, sub = target.resource, target.namespace, target.name, target.subresource
    if sub == "scale":
        return scale_of(cluster.get(res, ns, name)), 200
    if sub != "log":
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow GET on {res.key}/{sub}")
    pod = cluster.get(res, ns, name)
    params = request.query_params
    try:
        text = logs.render(
            cluster.store,
            pod,
            params.get("container"),
            tail=_int(params.get("tailLines")),
            since_seconds=_int(params.get("sinceSeconds")),
            timestamps=params.get("timestamps") == "true",
            previous=params.get("previous") == "true",
        )
    except logs.LogError as e:
        raise ApiError(400, "BadRequest", str(e)) from e
    return text, 200


def _event_v1(event: Obj) -> Obj:
    return {
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": event["metadata"],
        "regarding": event.get("involvedObject", {}),
        "reason": event.get("reason", ""),
        "note": event.get("message", ""),
        "type": event.get("type", "Normal"),
        "eventTime": None,
        "reportingController": event.get("reportingComponent", ""),
        "reportingInstance": event.get("reportingInstance", ""),
        "deprecatedSource": event.get("source", {}),
        "deprecatedFirstTimestamp": event.get("firstTimestamp"),
        "deprecatedLastTimestamp": event.get("lastTimestamp"),
        "deprecatedCount": event.get("count", 1),
    }


async def virtual(
    cluster: Cluster, request: Request, target: Target, user: rbac.User
) -> tuple[Any, int]:
    """Requests to the computed groups, for `user` (whom the request acts as)."""
    res, ns, name = target.resource, target.namespace, target.name
    if res.group in REVIEW_GROUPS:
        if request.method != "POST":
            raise ApiError(405, "MethodNotAllowed", "only create is supported")
        raw = await request.body()
        # An undecodable review is refused (400 from `api`), never answered as if empty.
        body = protobuf.decode(raw) if raw.startswith(protobuf.MAGIC) else json.loads(raw or b"{}")
        return reviews.answer(cluster, user, res.kind, ns, body), 201
    if request.method != "GET":
        raise ApiError(405, "MethodNotAllowed", f"{res.key} is read-only in the sandbox")
    items: list[Obj]
    if res.group == "events.k8s.io":
        items = [_event_v1(e) for e in cluster.store.list("events", ns or None)]
    elif res.kind == "PodMetrics":
        items = [metrics.pod_metrics(p) for p in metrics.running_pods(cluster.store, ns or None)]
    else:
        items = [metrics.node_metrics(cluster.store, n) for n in cluster.store.list("nodes")]
    label = selectors.label_selector(request.query_params.get("labelSelector"))
    field = selectors.field_selector(request.query_params.get("fieldSelector"))
    items = [i for i in items if label(i) and field(i)]
    if name:
        found = [i for i in items if i["metadata"]["name"] == name]
        if not found:
            raise ApiError(404, "NotFound", f'{res.key} "{name}" not found')
        return found[0], 200
    return {
        "kind": f"{res.kind}List",
        "apiVersion": res.api_version,
        "metadata": {},
        "items": items,
    }, 200
