"""The files a simulated container sees: its mounted ConfigMaps, Secrets, downward API and
projected volumes, the ServiceAccount token, and the few files every container has.

Called by `shell` (`cat`, `ls`) and `network` (a web server's document root). Files are built
on each read from the pod and the objects it mounts, as the kubelet projects them: one file per
key (or per listed `items[].path`), Secret values decoded. Nothing is writable.
"""

from __future__ import annotations

import base64
import posixpath

from opsgate.sandbox.apiserver.store import Obj, Store

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
CLUSTER_DOMAIN = "cluster.local"
DNS_IP = "10.96.0.10"


def decoded(obj: Obj) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's with its values decoded."""
    if obj.get("kind") == "Secret":
        return {
            k: base64.b64decode(v).decode(errors="replace")
            for k, v in (obj.get("data") or {}).items()
        }
    return {k: str(v) for k, v in (obj.get("data") or {}).items()}


def _source_files(store: Store, namespace: str, kind: str, source: Obj) -> dict[str, str]:
    name = source.get("secretName") or source.get("name") or ""
    key = "secrets" if kind == "Secret" else "configmaps"
    obj = store.peek(key, namespace, str(name))
    if obj is None:
        return {}
    data = decoded(obj)
    items = source.get("items")
    if items:
        return {
            str(i.get("path", i.get("key"))): data[i["key"]] for i in items if i.get("key") in data
        }
    return data


def field(pod: Obj, path: str) -> str:
    """A downward-API field of the pod (`metadata.name`, `metadata.labels`, `status.podIP`)."""
    meta = pod["metadata"]
    if path in ("metadata.labels", "metadata.annotations"):
        values = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": (pod.get("spec") or {}).get("nodeName", ""),
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName", "default"),
        "status.podIP": (pod.get("status") or {}).get("podIP", ""),
        "status.hostIP": (pod.get("status") or {}).get("hostIP", ""),
    }
    if path.startswith(("metadata.labels[", "metadata.annotations[")):
        field, _, rest = path.partition("[")
        return str((meta.get(field.split(".")[1]) or {}).get(rest.strip("]'\""), ""))
    return str(simple.get(path, ""))


def _downward(pod: Obj, source: Obj) -> dict[str, str]:
    return {
        str(item.get("path")): field(pod, str((item.get("fieldRef") or {}).get("fieldPath", "")))
        for item in source.get("items") or []
        if item.get("fieldRef")
    }


def volume_files(store: Store, pod: Obj, volume: Obj) -> dict[str, str] | None:
    """The files of one volume, relative to its mount point (None: not a simulated source)."""
    namespace = pod["metadata"].get("namespace", "")
    if "configMap" in volume:
        return _source_files(store, namespace, "ConfigMap", volume["configMap"])
    if "secret" in volume:
        return _source_files(store, namespace, "Secret", volume["secret"])
    if "downwardAPI" in volume:
        return _downward(pod, volume["downwardAPI"])
    if "projected" in volume:
        files: dict[str, str] = {}
        for source in volume["projected"].get("sources") or []:
            if "configMap" in source:
                files.update(_source_files(store, namespace, "ConfigMap", source["configMap"]))
            elif "secret" in source:
                files.update(_source_files(store, namespace, "Secret", source["secret"]))
            elif "downwardAPI" in source:
                files.update(_downward(pod, source["downwardAPI"]))
        return files
    return None


def hostname(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("hostname") or pod["metadata"]["name"])


def _base_files(pod: Obj) -> dict[str, str]:
    namespace = pod["metadata"].get("namespace", "")
    ip = (pod.get("status") or {}).get("podIP", "")
    search = f"{namespace}.svc.{CLUSTER_DOMAIN} svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}"
    return {
        "/etc/hostname": hostname(pod) + "\n",
        "/etc/hosts": (
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost "
            f"ip6-localhost ip6-loopback\n{ip}\t{hostname(pod)}\n"
        ),
        "/etc/resolv.conf": f"search {search}\nnameserver {DNS_IP}\noptions ndots:5\n",
        f"{SERVICE_ACCOUNT_DIR}/namespace": namespace,
        f"{SERVICE_ACCOUNT_DIR}/ca.crt": "(the cluster CA certificate; not simulated)\n",
        f"{SERVICE_ACCOUNT_DIR}/token": "(a projected ServiceAccount token; not simulated)",
    }


def container_files(store: Store, pod: Obj, container: Obj) -> dict[str, str]:
    """Absolute path -> content of every simulated file in one container."""
    files = _base_files(pod)
    if (pod.get("spec") or {}).get("automountServiceAccountToken") is False:
        files = {p: c for p, c in files.items() if not p.startswith(SERVICE_ACCOUNT_DIR)}
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name"))
        content = volume_files(store, pod, volume) if volume else None
        if content is None:
            continue
        where = str(mount.get("mountPath", "/"))
        sub = mount.get("subPath")
        if sub:
            if sub in content:
                files[where] = content[sub]
            continue
        for rel, text in content.items():
            files[posixpath.normpath(posixpath.join(where, rel))] = text
    return files


ROOT = (
    "bin",
    "dev",
    "etc",
    "home",
    "lib",
    "proc",
    "root",
    "run",
    "sbin",
    "sys",
    "tmp",
    "usr",
    "var",
)
"""What `ls /` shows besides mount points (those directories' contents are not simulated)."""


def listing(files: dict[str, str], directory: str) -> list[str] | None:
    """The names directly inside `directory` (None when nothing is there)."""
    prefix = directory.rstrip("/") + "/"
    names = {p[len(prefix) :].split("/", 1)[0] for p in files if p.startswith(prefix)}
    if prefix == "/":
        names |= set(ROOT)
    return sorted(names) if names else None
