"""What a pod needs from Secrets and ConfigMaps, checked as the kubelet checks it.

Called by `containers` (a container's `env[].valueFrom` and `envFrom[]`, before it is created)
and `kubelet` (the pod's Secret, ConfigMap and projected volumes, before any container starts).
Each check returns the kubelet's own message for the first thing missing (`secret "api-db" not
found`, `couldn't find key password in Secret shop/api-db`); `optional` references may be
missing.
"""

from __future__ import annotations

from opsgate.sandbox.apiserver.store import Obj, Store


def keys_of(store: Store, kind: str, namespace: str, name: str) -> set[str] | None:
    """The keys of a Secret or ConfigMap, or None when it does not exist."""
    if kind == "Secret":
        secret = store.peek("secrets", namespace, name)
        return None if secret is None else set(secret.get("data") or {})
    config = store.peek("configmaps", namespace, name)
    return (
        None if config is None else {*(config.get("data") or {}), *(config.get("binaryData") or {})}
    )


def _not_found(kind: str, name: str) -> str:
    return f'{kind.lower()} "{name}" not found'


def config_error(store: Store, namespace: str, container: Obj) -> str | None:
    """Why the kubelet cannot build a container's environment (its message), or None.

    `envFrom` is read before `env`, as the kubelet does.
    """
    for source in container.get("envFrom") or []:
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = source.get(field)
            if ref is None or ref.get("optional"):
                continue
            if keys_of(store, kind, namespace, ref.get("name", "")) is None:
                return _not_found(kind, ref.get("name", ""))
    for variable in container.get("env") or []:
        value_from = variable.get("valueFrom") or {}
        for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = value_from.get(field)
            if ref is None or ref.get("optional"):
                continue
            name, key = ref.get("name", ""), ref.get("key", "")
            keys = keys_of(store, kind, namespace, name)
            if keys is None:
                return _not_found(kind, name)
            if key not in keys:
                return f"couldn't find key {key} in {kind} {namespace}/{name}"
    return None


def mount_error(store: Store, pod: Obj) -> tuple[str, str] | None:
    """The first volume the kubelet cannot set up, and why; None when all can be mounted."""
    namespace = pod["metadata"].get("namespace", "")
    for volume in pod.get("spec", {}).get("volumes") or []:
        sources: list[tuple[str, str, Obj]] = []
        if "secret" in volume:
            sources.append(("Secret", volume["secret"].get("secretName", ""), volume["secret"]))
        if "configMap" in volume:
            sources.append(("ConfigMap", volume["configMap"].get("name", ""), volume["configMap"]))
        for projected in (volume.get("projected") or {}).get("sources") or []:
            for field, kind in (("secret", "Secret"), ("configMap", "ConfigMap")):
                if field in projected:
                    sources.append((kind, projected[field].get("name", ""), projected[field]))
        for kind, name, source in sources:
            if source.get("optional"):
                continue
            keys = keys_of(store, kind, namespace, name)
            if keys is None:
                return volume.get("name", ""), _not_found(kind, name)
            for item in source.get("items") or []:
                if item.get("key") not in keys:
                    what = "secret" if kind == "Secret" else "config"
                    prefix = "" if kind == "Secret" else "configmap "
                    return volume.get("name", ""), (
                        f"{prefix}references non-existent {what} key: {item.get('key')}"
                    )
    return None
