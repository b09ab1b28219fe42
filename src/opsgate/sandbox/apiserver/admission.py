"""Admission: what the API server's admission plugins add to or refuse in a new object.

Called by `cluster` for requests and by the workload controllers for the pods they create
(`controllers.scheduler.create_pod`), so a ReplicaSet meets the same quota as `kubectl run`:

- NamespaceLifecycle: nothing new in a namespace that is being terminated;
- ServiceAccount: a pod's service account must exist; its token is mounted as a projected
  volume `kube-api-access-*` (unless `automountServiceAccountToken: false`);
- Priority: `priorityClassName` resolves to `priority` (a missing class is refused);
- LimitRanger: container defaults and min/max of the namespace's LimitRanges;
- ResourceQuota: counts and compute resources of the namespace's quotas (a quota on a
  compute resource requires every container to declare it);
- DefaultStorageClass and volume expansion for PersistentVolumeClaims.

Every refusal is the 403 `Forbidden` Status with the plugin's message.
"""

from __future__ import annotations

import secrets
from fractions import Fraction
from typing import Any

from opsgate.sandbox.apiserver import quantity
from opsgate.sandbox.apiserver.errors import forbidden, invalid, resource_name
from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj, Store
from opsgate.sandbox.kinds import storage
from opsgate.sandbox.kinds.base import forbidden as forbidden_cause

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 - a path
ROOT_CA = "kube-root-ca.crt"
_COMPUTE = ("cpu", "memory")
_COUNTED = {
    "pods": "pods",
    "services": "services",
    "configmaps": "configmaps",
    "secrets": "secrets",
    "persistentvolumeclaims": "persistentvolumeclaims",
    "replicationcontrollers": "replicationcontrollers",
    "resourcequotas": "resourcequotas",
}


def open_namespace(store: Store, res: Resource, namespace: str, name: str) -> None:
    """NamespaceLifecycle: refuse new objects in a terminating namespace."""
    if not res.namespaced:
        return
    found = store.peek("namespaces", "", namespace)
    if found is not None and found.get("metadata", {}).get("deletionTimestamp"):
        raise forbidden(
            res.plural,
            res.group,
            name,
            f"unable to create new content in namespace {namespace} because it is being terminated",
        )


def _token_volume(pod: Obj) -> None:
    spec = pod["spec"]
    volume = {
        "name": "kube-api-access-" + "".join(secrets.choice(_ALPHABET) for _ in range(5)),
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": ROOT_CA, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }
    spec.setdefault("volumes", []).append(volume)
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        mounts = container.setdefault("volumeMounts", [])
        if not any(m.get("mountPath") == TOKEN_PATH for m in mounts):
            mounts.append({"name": volume["name"], "readOnly": True, "mountPath": TOKEN_PATH})


def _service_account(store: Store, pod: Obj) -> None:
    spec, meta = pod["spec"], pod["metadata"]
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = name
    namespace = meta.get("namespace", "")
    account = store.peek("serviceaccounts", namespace, name)
    if account is None:
        raise forbidden(
            "pods",
            "",
            meta.get("name", ""),
            f"error looking up service account {namespace}/{name}: "
            f'serviceaccount "{name}" not found',
        )
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = account.get("automountServiceAccountToken", True)
    already = any(
        v.get("name", "").startswith("kube-api-access-") for v in spec.get("volumes") or []
    )
    if automount and not already:
        _token_volume(pod)


def _priority(store: Store, pod: Obj) -> None:
    spec = pod["spec"]
    wanted = spec.get("priorityClassName")
    classes = store.scan("priorityclasses.scheduling.k8s.io")
    if wanted:
        found = next((c for c in classes if c["metadata"]["name"] == wanted), None)
        if found is None and wanted not in ("system-cluster-critical", "system-node-critical"):
            raise forbidden(
                "pods",
                "",
                pod["metadata"].get("name", ""),
                f"no PriorityClass with name {wanted} was found",
            )
        spec["priority"] = int(found["value"]) if found else 2000000000
    else:
        default = next((c for c in classes if c.get("globalDefault")), None)
        if default is not None:
            spec["priorityClassName"] = default["metadata"]["name"]
            spec["priority"] = int(default.get("value", 0))


def _containers(pod: Obj) -> list[Obj]:
    spec = pod.get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _limit_ranges(store: Store, pod: Obj) -> None:
    namespace = pod["metadata"].get("namespace", "")
    applied_request: dict[str, list[str]] = {}
    applied_limit: dict[str, list[str]] = {}
    problems: list[str] = []
    for limit_range in store.scan("limitranges", namespace):
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if item.get("type") != "Container":
                continue
            for container in _containers(pod):
                resources = container.setdefault("resources", {})
                name = container.get("name", "")
                for resource, value in (item.get("default") or {}).items():
                    if resource not in (resources.get("limits") or {}):
                        resources.setdefault("limits", {})[resource] = value
                        applied_limit.setdefault(name, []).append(resource)
                for resource, value in (item.get("defaultRequest") or {}).items():
                    if resource not in (resources.get("requests") or {}):
                        resources.setdefault("requests", {})[resource] = value
                        applied_request.setdefault(name, []).append(resource)
                problems += _bounds(item, resources, "Container")
    if applied_request or applied_limit:
        parts = [f"{', '.join(r)} request for container {c}" for c, r in applied_request.items()]
        parts += [f"{', '.join(r)} limit for container {c}" for c, r in applied_limit.items()]
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations["kubernetes.io/limit-ranger"] = "LimitRanger plugin set: " + "; ".join(parts)
    if problems:
        raise forbidden("pods", "", pod["metadata"].get("name", ""), ", ".join(problems))


def _bounds(item: Obj, resources: Obj, scope: str) -> list[str]:
    problems = []
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for resource, most in (item.get("max") or {}).items():
        limit = limits.get(resource)
        if limit is None:
            problems.append(
                f"maximum {resource} usage per {scope} is {most}.  No limit is specified"
            )
        elif quantity.parse(limit) > quantity.parse(most):
            problems.append(f"maximum {resource} usage per {scope} is {most}, but limit is {limit}")
    for resource, least in (item.get("min") or {}).items():
        request = requests.get(resource)
        if request is None:
            problems.append(
                f"minimum {resource} usage per {scope} is {least}.  No request is specified"
            )
        elif quantity.parse(request) < quantity.parse(least):
            problems.append(
                f"minimum {resource} usage per {scope} is {least}, but request is {request}"
            )
    return problems


def pod_usage(pod: Obj) -> dict[str, Fraction]:
    """What a pod counts against a quota (`requests.cpu`, `limits.memory`, `pods`...)."""
    usage: dict[str, Fraction] = {"pods": Fraction(1)}
    spec = pod.get("spec") or {}
    for kind in ("requests", "limits"):
        for resource in _COMPUTE:
            total = Fraction(0)
            for container in spec.get("containers") or []:
                value = ((container.get("resources") or {}).get(kind) or {}).get(resource)
                if value is not None:
                    total += quantity.parse(value)
            for container in spec.get("initContainers") or []:
                value = ((container.get("resources") or {}).get(kind) or {}).get(resource)
                if value is not None:
                    total = max(total, quantity.parse(value))
            usage[f"{kind}.{resource}"] = total
    usage["cpu"], usage["memory"] = usage["requests.cpu"], usage["requests.memory"]
    return usage


def _object_usage(key: str, obj: Obj) -> dict[str, Fraction]:
    plural, _, group = key.partition(".")
    usage = {f"count/{resource_name(plural, group)}": Fraction(1)}
    if plural in _COUNTED and not group:
        usage[_COUNTED[plural]] = Fraction(1)
    if key == "pods":
        phase = (obj.get("status") or {}).get("phase")
        return {} if phase in ("Succeeded", "Failed") else {**usage, **pod_usage(obj)}
    if key == "persistentvolumeclaims":
        storage_request = (
            ((obj.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
        )
        if storage_request is not None:
            usage["requests.storage"] = quantity.parse(storage_request)
    if key == "services":
        kind = (obj.get("spec") or {}).get("type", "ClusterIP")
        if kind == "LoadBalancer":
            usage["services.loadbalancers"] = Fraction(1)
        if kind in ("NodePort", "LoadBalancer"):
            usage["services.nodeports"] = Fraction(len((obj.get("spec") or {}).get("ports") or []))
    return usage


def used(store: Store, namespace: str, hard: dict[str, Any]) -> dict[str, Fraction]:
    """What the namespace uses of each resource a quota limits."""
    keys = {
        "pods",
        "services",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "replicationcontrollers",
    }
    for name in hard:
        if name.startswith("count/"):
            plural, _, group = name[6:].partition(".")
            keys.add(f"{plural}.{group}" if group else plural)
    totals: dict[str, Fraction] = {name: Fraction(0) for name in hard}
    for key in keys:
        for obj in store.scan(key, namespace):
            for name, amount in _object_usage(key, obj).items():
                if name in totals:
                    totals[name] += amount
    return totals


def check_quota(store: Store, res: Resource, obj: Obj) -> None:
    """ResourceQuota: refuse an object that would exceed a quota of its namespace."""
    namespace = obj["metadata"].get("namespace", "")
    quotas = store.scan("resourcequotas", namespace)
    if not quotas:
        return
    wanted = _object_usage(res.key, obj)
    name = obj["metadata"].get("name", "")
    for quota in sorted(quotas, key=lambda q: q["metadata"]["name"]):
        hard = (quota.get("spec") or {}).get("hard") or {}
        quota_name = quota["metadata"]["name"]
        if res.key == "pods":
            missing = _missing_compute(obj, hard)
            if missing:
                raise forbidden(
                    "pods", "", name, f"failed quota: {quota_name}: must specify {missing}"
                )
        current = used(store, namespace, hard)
        over = [
            r
            for r in sorted(hard)
            if r in wanted and wanted[r] > 0 and current[r] + wanted[r] > quantity.parse(hard[r])
        ]
        if over:
            requested = ",".join(f"{r}={quantity.text(r, wanted[r])}" for r in over)
            in_use = ",".join(f"{r}={quantity.text(r, current[r])}" for r in over)
            limited = ",".join(f"{r}={hard[r]}" for r in over)
            raise forbidden(
                res.plural,
                res.group,
                name,
                f"exceeded quota: {quota_name}, requested: {requested}, used: {in_use}, "
                f"limited: {limited}",
            )


def _missing_compute(pod: Obj, hard: dict[str, Any]) -> str:
    parts = []
    for resource in sorted(hard):
        kind, _, compute = resource.partition(".")
        if kind not in ("requests", "limits") or compute not in _COMPUTE:
            continue
        lacking = [
            c.get("name", "")
            for c in (pod.get("spec") or {}).get("containers") or []
            if compute not in ((c.get("resources") or {}).get(kind) or {})
        ]
        if lacking:
            parts.append(f"{resource} for: {','.join(lacking)}")
    return "; ".join(parts)


def admit_pod(store: Store, pod: Obj) -> Obj:
    """A new pod as admission leaves it (raises the 403 of the first plugin that refuses)."""
    pod.setdefault("spec", {})
    _service_account(store, pod)
    _priority(store, pod)
    _limit_ranges(store, pod)
    check_quota(store, Resource("", "v1", "Pod", "pods"), pod)
    return pod


def default_class(store: Store) -> str | None:
    """The name of the default StorageClass, if one is marked."""
    for sc in store.scan("storageclasses.storage.k8s.io"):
        if storage.is_default(sc):
            return str(sc["metadata"]["name"])
    return None


def admit_claim(store: Store, pvc: Obj, old: Obj | None) -> None:
    """DefaultStorageClass on create; on update, resizing only where the class allows it."""
    spec = pvc.setdefault("spec", {})
    name = pvc["metadata"].get("name", "")
    if old is None:
        if "storageClassName" not in spec:
            found = default_class(store)
            if found is not None:
                spec["storageClassName"] = found
        return
    before = ((old.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
    after = (spec.get("resources") or {}).get("requests", {}).get("storage")
    if before is None or after is None or quantity.parse(after) == quantity.parse(before):
        return
    if quantity.parse(after) < quantity.parse(before):
        cause = forbidden_cause(
            "spec.resources.requests.storage", "field can not be less than status.capacity"
        )
        raise invalid("", "PersistentVolumeClaim", name, [cause])
    sc = store.peek("storageclasses.storage.k8s.io", "", str(spec.get("storageClassName", "")))
    if sc is None or not sc.get("allowVolumeExpansion"):
        raise forbidden(
            "persistentvolumeclaims",
            "",
            name,
            "only dynamically provisioned pvc can be resized and the storageclass that "
            "provisions the pvc must support resize",
        )


def admit(store: Store, res: Resource, obj: Obj, old: Obj | None) -> Obj:
    """Every admission step for a create (`old` None) or an update of `obj`."""
    if old is None:
        open_namespace(
            store, res, obj["metadata"].get("namespace", ""), obj["metadata"].get("name", "")
        )
    if res.key == "pods" and old is None:
        return admit_pod(store, obj)
    if res.key == "persistentvolumeclaims":
        admit_claim(store, obj, old)
    if old is None and res.namespaced:
        check_quota(store, res, obj)
    return obj
