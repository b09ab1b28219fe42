"""The core group (`/api/v1`): pods, config, secrets, nodes, events; services, storage and
limits are in `kinds.services`, `kinds.volumes` and `kinds.limits`, spliced in here."""

from __future__ import annotations

import base64
from typing import Any

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds import limits, podspec, services, volumes
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    forbidden,
    human_age,
    immutable,
    invalid,
    labels_text,
    spec,
    status,
)

_S, _I = "string", "integer"


def pod_status_reason(pod: Obj) -> str:
    """The STATUS column of a pod (Running, CrashLoopBackOff, Init:0/1, Terminating...)."""
    st = status(pod)
    reason = st.get("reason") or st.get("phase", "Pending")
    for index, cs in enumerate(st.get("initContainerStatuses") or []):
        state = cs.get("state", {})
        if state.get("terminated", {}).get("exitCode") == 0:
            continue
        if state.get("waiting", {}).get("reason") not in (None, "PodInitializing"):
            return f"Init:{state['waiting']['reason']}"
        total = len(spec(pod).get("initContainers") or [])
        return f"Init:{index}/{total}"
    # As kubectl's printer: the first container with a waiting or terminated reason wins.
    for cs in reversed(st.get("containerStatuses", [])):
        waiting = cs.get("state", {}).get("waiting")
        terminated = cs.get("state", {}).get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return str(reason)


def _pod_row(pod: Obj) -> list[Any]:
    statuses = status(pod).get("containerStatuses", [])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount", 0)) for cs in statuses)
    restart_cell = str(restarts)
    last = [cs.get("lastState", {}).get("terminated", {}).get("finishedAt") for cs in statuses]
    last_finished = [t for t in last if t]
    if restarts and last_finished:
        restart_cell = f"{restarts} ({human_age(max(last_finished))} ago)"
    nominated = status(pod).get("nominatedNodeName", "<none>")
    return [
        f"{ready}/{len(spec(pod).get('containers', []))}",
        pod_status_reason(pod),
        restart_cell,
        age(pod),
        status(pod).get("podIP", "<none>"),
        spec(pod).get("nodeName", "<none>"),
        nominated,
        "<none>",
    ]


def _node_row(node: Obj) -> list[Any]:
    conditions = status(node).get("conditions", [])
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    text = "Ready" if ready else "NotReady"
    if spec(node).get("unschedulable"):
        text += ",SchedulingDisabled"
    labels = node["metadata"].get("labels", {})
    roles = ",".join(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    info = status(node).get("nodeInfo", {})
    addresses = {a.get("type"): a.get("address") for a in status(node).get("addresses", [])}
    return [
        text,
        roles or "<none>",
        age(node),
        info.get("kubeletVersion", ""),
        addresses.get("InternalIP", "<none>"),
        addresses.get("ExternalIP", "<none>"),
        info.get("osImage", ""),
        info.get("kernelVersion", ""),
        info.get("containerRuntimeVersion", ""),
    ]


def _event_row(event: Obj) -> list[Any]:
    involved = event.get("involvedObject", {})
    last = (
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event["metadata"].get("creationTimestamp")
    )
    return [
        human_age(last),
        event.get("type", "Normal"),
        event.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        event.get("message", ""),
    ]


def _rc_row(rc: Obj) -> list[Any]:
    st = status(rc)
    template = spec(rc).get("template", {}).get("spec", {})
    return [
        spec(rc).get("replicas", 1),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        age(rc),
        ",".join(c.get("name", "") for c in template.get("containers", [])),
        ",".join(c.get("image", "") for c in template.get("containers", [])),
        labels_text(spec(rc).get("selector")) or "<none>",
    ]


def _template_row(obj: Obj) -> list[Any]:
    template = obj.get("template", {})
    containers = template.get("spec", {}).get("containers", [])
    return [
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        labels_text(template.get("metadata", {}).get("labels")) or "<none>",
    ]


def _pod_defaults(obj: Obj) -> None:
    podspec.defaults(obj.setdefault("spec", {}))


def _pod_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    causes = podspec.validate(obj.get("spec"), "spec")
    if old is not None:
        before, after = spec(old), spec(obj)
        images_only = {**before, "containers": None, "initContainers": None, "tolerations": None}
        now = {**after, "containers": None, "initContainers": None, "tolerations": None}
        names_before = [c.get("name") for c in before.get("containers") or []]
        names_after = [c.get("name") for c in after.get("containers") or []]
        if images_only != now or names_before != names_after:
            causes.append(
                forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`,"
                    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),"
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                    "previously negative)",
                )
            )
    return causes


def _namespace_defaults(obj: Obj) -> None:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {"phase": "Active"})


def _secret_defaults(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    data = obj.setdefault("data", {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()


def _key_causes(obj: Obj, field: str) -> list[Cause]:
    causes = []
    for key in obj.get(field) or {}:
        ok = key and len(key) <= 253 and all(c.isalnum() or c in "-._" for c in key)
        if not ok:
            causes.append(
                invalid(
                    f"{field}[{key}]",
                    key,
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
                    "is '[-._a-zA-Z0-9]+')",
                )
            )
    return causes


def _immutable_data(obj: Obj, old: Obj | None) -> list[Cause]:
    if old is None or not old.get("immutable"):
        return []
    if any(obj.get(f) != old.get(f) for f in ("data", "binaryData", "stringData")):
        return [forbidden("data", "field is immutable when `immutable` is set")]
    return []


def _configmap_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    return [*_key_causes(obj, "data"), *_key_causes(obj, "binaryData"), *_immutable_data(obj, old)]


def _secret_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    causes = [*_key_causes(obj, "data"), *_immutable_data(obj, old)]
    if old is not None and obj.get("type") != old.get("type"):
        causes.append(immutable("type", obj.get("type")))
    return causes


_R = Resource
KINDS: list[Kind] = [
    Kind(
        "Namespace",
        (
            _R(
                "",
                "v1",
                "Namespace",
                "namespaces",
                False,
                ("ns",),
                subresources=("status", "finalize"),
            ),
        ),
        (("Status", _S, 0), ("Age", _S, 0)),
        lambda o: [status(o).get("phase", "Active"), age(o)],
        _namespace_defaults,
        name_rule="label",
    ),
    Kind(
        "Pod",
        (
            _R(
                "",
                "v1",
                "Pod",
                "pods",
                True,
                ("po",),
                subresources=(
                    "status",
                    "log",
                    "exec",
                    "attach",
                    "portforward",
                    "eviction",
                    "binding",
                ),
                categories=("all",),
            ),
        ),
        (
            ("Ready", _S, 0),
            ("Status", _S, 0),
            ("Restarts", _S, 0),
            ("Age", _S, 0),
            ("IP", _S, 1),
            ("Node", _S, 1),
            ("Nominated Node", _S, 1),
            ("Readiness Gates", _S, 1),
        ),
        _pod_row,
        _pod_defaults,
        _pod_validate,
    ),
    services.SERVICES,
    Kind(
        "ConfigMap",
        (_R("", "v1", "ConfigMap", "configmaps", True, ("cm",)),),
        (("Data", _I, 0), ("Age", _S, 0)),
        lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {}), age(o)],
        validate=_configmap_validate,
    ),
    Kind(
        "Secret",
        (_R("", "v1", "Secret", "secrets"),),
        (("Type", _S, 0), ("Data", _I, 0), ("Age", _S, 0)),
        lambda o: [o.get("type", "Opaque"), len(o.get("data") or {}), age(o)],
        _secret_defaults,
        _secret_validate,
    ),
    Kind(
        "Node",
        (_R("", "v1", "Node", "nodes", False, ("no",), subresources=("status", "proxy")),),
        (
            ("Status", _S, 0),
            ("Roles", _S, 0),
            ("Age", _S, 0),
            ("Version", _S, 0),
            ("Internal-IP", _S, 1),
            ("External-IP", _S, 1),
            ("OS-Image", _S, 1),
            ("Kernel-Version", _S, 1),
            ("Container-Runtime", _S, 1),
        ),
        _node_row,
        lambda o: None if "status" in o else o.update(status={}),
    ),
    Kind(
        "Event",
        (_R("", "v1", "Event", "events", True, ("ev",)),),
        (
            ("Last Seen", _S, 0),
            ("Type", _S, 0),
            ("Reason", _S, 0),
            ("Object", _S, 0),
            ("Message", _S, 0),
        ),
        _event_row,
        name_rule="any",
    ),
    Kind(
        "ServiceAccount",
        (
            _R(
                "",
                "v1",
                "ServiceAccount",
                "serviceaccounts",
                True,
                ("sa",),
                subresources=("token",),
            ),
        ),
        (("Secrets", _I, 0), ("Age", _S, 0)),
        lambda o: [len(o.get("secrets") or []), age(o)],
    ),
    services.ENDPOINTS,
    volumes.CLAIMS,
    volumes.VOLUMES,
    Kind(
        "ReplicationController",
        (
            _R(
                "",
                "v1",
                "ReplicationController",
                "replicationcontrollers",
                True,
                ("rc",),
                subresources=("scale", "status"),
                categories=("all",),
            ),
        ),
        (
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Age", _S, 0),
            ("Containers", _S, 1),
            ("Images", _S, 1),
            ("Selector", _S, 1),
        ),
        _rc_row,
    ),
    limits.QUOTAS,
    limits.LIMIT_RANGES,
    Kind(
        "PodTemplate",
        (_R("", "v1", "PodTemplate", "podtemplates"),),
        (("Containers", _S, 0), ("Images", _S, 0), ("Pod Labels", _S, 0)),
        _template_row,
    ),
]
