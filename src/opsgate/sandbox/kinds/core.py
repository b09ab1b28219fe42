"""The core group (`/api/v1`): pods, services, config, storage claims, quotas, nodes, events."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from opsgate.sandbox.apiserver import quantity
from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds import podspec
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    created_at,
    forbidden,
    human_age,
    immutable,
    invalid,
    labels_text,
    required,
    spec,
    status,
    unsupported,
)

_S, _I = "string", "integer"
ACCESS_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


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


def _ports(svc: Obj) -> str:
    parts = []
    for port in spec(svc).get("ports") or []:
        text = str(port.get("port"))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        parts.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or "<none>"


def _external_ip(svc: Obj) -> str:
    sp = spec(svc)
    if sp.get("type") == "ExternalName":
        return str(sp.get("externalName", "<none>"))
    ingress = status(svc).get("loadBalancer", {}).get("ingress") or []
    addresses = [i.get("ip") or i.get("hostname") for i in ingress]
    addresses += sp.get("externalIPs") or []
    if addresses:
        return ",".join(str(a) for a in addresses)
    return "<pending>" if sp.get("type") == "LoadBalancer" else "<none>"


def _svc_row(svc: Obj) -> list[Any]:
    sp = spec(svc)
    selector = labels_text(sp.get("selector"))
    return [
        sp.get("type", "ClusterIP"),
        sp.get("clusterIP", "<none>"),
        _external_ip(svc),
        _ports(svc),
        age(svc),
        selector or "<none>",
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


def endpoints_text(addresses: list[str], limit: int = 3) -> str:
    """`10.244.1.5:80,10.244.2.3:80 + 1 more...` as kubectl prints endpoints."""
    if not addresses:
        return "<none>"
    shown = ",".join(addresses[:limit])
    more = len(addresses) - limit
    return f"{shown} + {more} more..." if more > 0 else shown


def _endpoints_row(ep: Obj) -> list[Any]:
    found = []
    for subset in ep.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or []] or [None]
        for address in subset.get("addresses") or []:
            for port in ports:
                ip = address.get("ip", "")
                found.append(f"{ip}:{port}" if port is not None else ip)
    return [endpoints_text(found), age(ep)]


def _modes(obj: Obj) -> str:
    return ",".join(ACCESS_MODES.get(m, m) for m in spec(obj).get("accessModes") or [])


def _pvc_row(pvc: Obj) -> list[Any]:
    st = status(pvc)
    phase = st.get("phase", "Pending")
    if pvc["metadata"].get("deletionTimestamp"):
        phase = "Terminating"
    capacity = (st.get("capacity") or {}).get("storage", "")
    bound = phase in ("Bound", "Terminating")
    return [
        phase,
        spec(pvc).get("volumeName", ""),
        capacity,
        _modes(pvc) if bound else "",
        spec(pvc).get("storageClassName", "<unset>"),
        spec(pvc).get("volumeAttributesClassName", "<unset>"),
        age(pvc),
        spec(pvc).get("volumeMode", "Filesystem"),
    ]


def _pv_row(pv: Obj) -> list[Any]:
    sp = spec(pv)
    claim = sp.get("claimRef") or {}
    claim_text = f"{claim.get('namespace')}/{claim.get('name')}" if claim.get("name") else ""
    return [
        (sp.get("capacity") or {}).get("storage", ""),
        _modes(pv),
        sp.get("persistentVolumeReclaimPolicy", "Retain"),
        status(pv).get("phase", "Pending"),
        claim_text,
        sp.get("storageClassName", ""),
        sp.get("volumeAttributesClassName", "<unset>"),
        status(pv).get("reason", ""),
        age(pv),
        sp.get("volumeMode", "Filesystem"),
    ]


def _quota_row(quota: Obj) -> list[Any]:
    hard = status(quota).get("hard") or spec(quota).get("hard") or {}
    used = status(quota).get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for name in sorted(hard):
        cell = f"{name}: {used.get(name, '0')}/{hard[name]}"
        (limits if name.startswith("limits.") else requests).append(cell)
    return [age(quota), ", ".join(requests), ", ".join(limits)]


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


_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]


def _service_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("type", "ClusterIP")
    if sp["type"] != "ExternalName":
        sp.setdefault("clusterIP", f"10.96.{secrets.randbelow(250)}.{secrets.randbelow(250) + 2}")
        sp.setdefault("clusterIPs", [sp["clusterIP"]])
        sp.setdefault("ipFamilies", ["IPv4"])
        sp.setdefault("ipFamilyPolicy", "SingleStack")
        sp.setdefault("internalTrafficPolicy", "Cluster")
    sp.setdefault("sessionAffinity", "None")
    if sp["type"] in ("NodePort", "LoadBalancer"):
        sp.setdefault("externalTrafficPolicy", "Cluster")
    for port in sp.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if sp["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
            port["nodePort"] = 30000 + secrets.randbelow(2768)
    obj.setdefault("status", {"loadBalancer": {}})


def _service_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    causes: list[Cause] = []
    kind = sp.get("type", "ClusterIP")
    if kind not in _SERVICE_TYPES:
        causes.append(unsupported("spec.type", kind, _SERVICE_TYPES))
    ports = sp.get("ports") or []
    headless = sp.get("clusterIP") == "None"
    if not ports and kind != "ExternalName" and not headless:
        causes.append(required("spec.ports"))
    names: set[str] = set()
    for index, port in enumerate(ports):
        number = port.get("port")
        if not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                invalid(
                    f"spec.ports[{index}].port", number, "must be between 1 and 65535, inclusive"
                )
            )
        if len(ports) > 1 and not port.get("name"):
            causes.append(required(f"spec.ports[{index}].name"))
        if port.get("name") in names:
            causes.append(
                Cause(
                    f"spec.ports[{index}].name",
                    "FieldValueDuplicate",
                    f'Duplicate value: "{port.get("name")}"',
                )
            )
        names.add(str(port.get("name")))
    if old is not None and kind != "ExternalName":
        before = spec(old).get("clusterIP")
        if before and sp.get("clusterIP") not in (None, before):
            causes.append(
                invalid(
                    "spec.clusterIPs[0]",
                    f'[]string{{"{sp.get("clusterIP")}"}}',
                    "may not change once set",
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


def _pvc_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {"phase": "Pending"})


def _pvc_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    causes: list[Cause] = []
    if not sp.get("accessModes"):
        causes.append(required("spec.accessModes"))
    for mode in sp.get("accessModes") or []:
        if mode not in ACCESS_MODES:
            causes.append(unsupported("spec.accessModes", mode, list(ACCESS_MODES)))
    storage = ((sp.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        causes.append(required("spec.resources[storage]"))
    elif not quantity.valid(storage):
        causes.append(invalid("spec.resources[storage]", storage, "must be a valid quantity"))
    if old is None:
        return causes
    before = {k: v for k, v in spec(old).items() if k not in ("resources", "volumeName")}
    after = {k: v for k, v in sp.items() if k not in ("resources", "volumeName")}
    if before != after:
        causes.append(
            forbidden(
                "spec",
                "spec is immutable after creation except resources.requests and "
                "volumeAttributesClassName for bound claims",
            )
        )
    return causes


def _pv_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("persistentVolumeReclaimPolicy", "Retain")
    sp.setdefault("volumeMode", "Filesystem")
    obj.setdefault("status", {"phase": "Pending"})


def _pv_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    causes = []
    if not sp.get("accessModes"):
        causes.append(required("spec.accessModes"))
    if not (sp.get("capacity") or {}).get("storage"):
        causes.append(required("spec.capacity"))
    return causes


def _quota_defaults(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("hard", {})


def _limitrange_defaults(obj: Obj) -> None:
    for item in spec(obj).get("limits") or []:
        if item.get("type") == "Container":
            # As the API server: a max without a default makes the max the default limit.
            defaults = item.setdefault("default", {})
            for name, value in (item.get("max") or {}).items():
                defaults.setdefault(name, value)
            requests = item.setdefault("defaultRequest", {})
            for name, value in defaults.items():
                requests.setdefault(name, value)
            if not item["default"]:
                item.pop("default")
            if not item["defaultRequest"]:
                item.pop("defaultRequest")


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
    Kind(
        "Service",
        (
            _R(
                "",
                "v1",
                "Service",
                "services",
                True,
                ("svc",),
                subresources=("status", "proxy"),
                categories=("all",),
            ),
        ),
        (
            ("Type", _S, 0),
            ("Cluster-IP", _S, 0),
            ("External-IP", _S, 0),
            ("Port(s)", _S, 0),
            ("Age", _S, 0),
            ("Selector", _S, 1),
        ),
        _svc_row,
        _service_defaults,
        _service_validate,
        name_rule="label",
    ),
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
    Kind(
        "Endpoints",
        (_R("", "v1", "Endpoints", "endpoints", True, ("ep",)),),
        (("Endpoints", _S, 0), ("Age", _S, 0)),
        _endpoints_row,
    ),
    Kind(
        "PersistentVolumeClaim",
        (
            _R(
                "",
                "v1",
                "PersistentVolumeClaim",
                "persistentvolumeclaims",
                True,
                ("pvc",),
                subresources=("status",),
            ),
        ),
        (
            ("Status", _S, 0),
            ("Volume", _S, 0),
            ("Capacity", _S, 0),
            ("Access Modes", _S, 0),
            ("StorageClass", _S, 0),
            ("VolumeAttributesClass", _S, 0),
            ("Age", _S, 0),
            ("VolumeMode", _S, 1),
        ),
        _pvc_row,
        _pvc_defaults,
        _pvc_validate,
    ),
    Kind(
        "PersistentVolume",
        (
            _R(
                "",
                "v1",
                "PersistentVolume",
                "persistentvolumes",
                False,
                ("pv",),
                subresources=("status",),
            ),
        ),
        (
            ("Capacity", _S, 0),
            ("Access Modes", _S, 0),
            ("Reclaim Policy", _S, 0),
            ("Status", _S, 0),
            ("Claim", _S, 0),
            ("StorageClass", _S, 0),
            ("VolumeAttributesClass", _S, 0),
            ("Reason", _S, 0),
            ("Age", _S, 0),
            ("VolumeMode", _S, 1),
        ),
        _pv_row,
        _pv_defaults,
        _pv_validate,
    ),
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
    Kind(
        "ResourceQuota",
        (
            _R(
                "",
                "v1",
                "ResourceQuota",
                "resourcequotas",
                True,
                ("quota",),
                subresources=("status",),
            ),
        ),
        (("Age", _S, 0), ("Request", _S, 0), ("Limit", _S, 0)),
        _quota_row,
        _quota_defaults,
    ),
    Kind(
        "LimitRange",
        (_R("", "v1", "LimitRange", "limitranges", True, ("limits",)),),
        (("Created At", "date", 0),),
        lambda o: [created_at(o)],
        _limitrange_defaults,
    ),
    Kind(
        "PodTemplate",
        (_R("", "v1", "PodTemplate", "podtemplates"),),
        (("Containers", _S, 0), ("Images", _S, 0), ("Pod Labels", _S, 0)),
        _template_row,
    ),
]
