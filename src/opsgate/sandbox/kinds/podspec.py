"""Defaults and validation of a PodSpec, shared by Pod and every workload's template.

Called by `kinds.core` (Pod), `kinds.apps`, `kinds.batch` and `kinds.argo`. Only checks whose
real message is known are made, so that a manifest a real cluster accepts is never refused.
"""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver import quantity
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import (
    LABEL_MESSAGE,
    Cause,
    duplicate,
    invalid,
    is_label,
    not_found,
    required,
    unsupported,
)

_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1}
_TOLERATIONS = [
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in _PROBE_DEFAULTS.items():
        probe.setdefault(key, value)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        probe["httpGet"].setdefault("scheme", "HTTP")
        probe["httpGet"].setdefault("path", "/")


def _container(container: Any) -> None:
    if not isinstance(container, dict):
        return
    image = str(container.get("image", ""))
    latest = ":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")
    container.setdefault(
        "imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent"
    )
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(name))
    resources = container["resources"]
    if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
        # The API server copies a limit into its unset request.
        requests = resources.setdefault("requests", {})
        for key, value in resources["limits"].items():
            requests.setdefault(key, value)


def defaults(spec: Obj, in_template: bool = False) -> None:
    """Fill in a PodSpec's defaults in place."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        _container(container)
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        for source in ("configMap", "secret", "downwardAPI", "projected"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)
    if not in_template:
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
        tolerations = spec.setdefault("tolerations", [])
        keys = {t.get("key") for t in tolerations if isinstance(t, dict)}
        tolerations.extend(t for t in _TOLERATIONS if t["key"] not in keys)


def _resources(container: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            if not quantity.valid(value):
                causes.append(
                    invalid(f"{path}.resources.{kind}[{name}]", value, "must be a valid quantity")
                )
    for name in ("cpu", "memory"):
        if name in limits and name in requests:
            try:
                bigger = quantity.parse(requests[name]) > quantity.parse(limits[name])
            except quantity.QuantityError:
                continue
            if bigger:
                causes.append(
                    invalid(
                        f"{path}.resources.requests",
                        str(requests[name]),
                        f"must be less than or equal to {name} limit of {limits[name]}",
                    )
                )
    return causes


def _probes(container: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(name)
        if not isinstance(probe, dict):
            continue
        handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if h in probe]
        if not handlers:
            causes.append(required(f"{path}.{name}", "must specify a handler type"))
        elif len(handlers) > 1:
            causes.append(
                Cause(
                    f"{path}.{name}",
                    "FieldValueForbidden",
                    "Forbidden: may not specify more than 1 handler type",
                )
            )
        if name in ("livenessProbe", "startupProbe") and probe.get("successThreshold", 1) != 1:
            causes.append(
                invalid(f"{path}.{name}.successThreshold", probe["successThreshold"], "must be 1")
            )
    return causes


def _container_causes(container: Any, path: str, volumes: set[str]) -> list[Cause]:
    if not isinstance(container, dict):
        return [invalid(path, str(container), "must be an object")]
    causes: list[Cause] = []
    name = container.get("name")
    if not name:
        causes.append(required(f"{path}.name"))
    elif not is_label(str(name)):
        causes.append(invalid(f"{path}.name", name, LABEL_MESSAGE))
    if not container.get("image"):
        causes.append(required(f"{path}.image"))
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
        causes.append(
            unsupported(f"{path}.imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"])
        )
    seen_ports: set[tuple[Any, Any]] = set()
    for index, port in enumerate(container.get("ports") or []):
        number = port.get("containerPort") if isinstance(port, dict) else None
        where = f"{path}.ports[{index}]"
        if number is None:
            causes.append(required(f"{where}.containerPort"))
        elif not isinstance(number, int) or not 0 < number < 65536:
            causes.append(
                invalid(f"{where}.containerPort", number, "must be between 1 and 65535, inclusive")
            )
        key = (number, (port or {}).get("protocol", "TCP"))
        if number is not None and key in seen_ports:
            causes.append(duplicate(f"{where}", f"{number}/{key[1]}"))
        seen_ports.add(key)
    for index, mount in enumerate(container.get("volumeMounts") or []):
        if isinstance(mount, dict) and mount.get("name") not in volumes:
            causes.append(not_found(f"{path}.volumeMounts[{index}].name", mount.get("name")))
        if isinstance(mount, dict) and not mount.get("mountPath"):
            causes.append(required(f"{path}.volumeMounts[{index}].mountPath"))
    return [*causes, *_resources(container, path), *_probes(container, path)]


def validate(spec: Any, path: str, restart_policies: list[str] | None = None) -> list[Cause]:
    """Field errors of a PodSpec at `path` (`spec`, `spec.template.spec`)."""
    if not isinstance(spec, dict):
        return [required(path)]
    causes: list[Cause] = []
    volumes: set[str] = set()
    for index, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name") if isinstance(volume, dict) else None
        if not name:
            causes.append(required(f"{path}.volumes[{index}].name"))
        elif name in volumes:
            causes.append(duplicate(f"{path}.volumes[{index}].name", name))
        volumes.add(str(name))
    containers = spec.get("containers")
    if not containers:
        causes.append(required(f"{path}.containers"))
    names: set[str] = set()
    for group in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(group) or []):
            where = f"{path}.{group}[{index}]"
            causes += _container_causes(container, where, volumes)
            name = container.get("name") if isinstance(container, dict) else None
            if name and name in names:
                causes.append(duplicate(f"{where}.name", name))
            if name:
                names.add(str(name))
    policy = spec.get("restartPolicy")
    allowed = restart_policies or ["Always", "OnFailure", "Never"]
    if policy is not None and policy not in allowed:
        causes.append(unsupported(f"{path}.restartPolicy", policy, allowed))
    return causes
