"""The pod's own ServiceAccount as a kubeconfig context, `in-cluster`, beside any others.

Inside a pod Kubernetes sets `KUBERNETES_SERVICE_HOST`/`_PORT` and mounts the ServiceAccount's
`token`, `ca.crt` and `namespace` (`Settings.serviceaccount_dir`). `pod_kubeconfig` turns
that into a kubeconfig, written to a private file (0600 in a 0700 temporary directory) and
used like any configured one: every kubectl and helm call still names its kubeconfig and
context. The user entry points at the token with `tokenFile`, never the token itself, so
kubectl reads it from the mount on every call and follows its rotation; the token never
appears in an argv, an environment, a log line or this file. A configured kubeconfig is
merged in (its relative file paths made absolute, since the copy lives elsewhere).
Used at start-up by the API's lifespan, the MCP gateway and `opsgate doctor`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsgate import settings as settings_module
from opsgate.errors import ConfigError, truncate
from opsgate.settings import Settings

CONTEXT = "in-cluster"
KUBECONFIG_NAME = "kubeconfig"
_PATH_FIELDS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


@dataclass(frozen=True)
class PodIdentity:
    """Where this pod's API server is and where its ServiceAccount is mounted."""

    server: str
    token_file: Path
    ca_file: Path
    namespace: str


def detect(settings: Settings) -> PodIdentity | None:
    """The pod's identity, or None when this process does not run in a pod."""
    service = settings_module.kubernetes_service()
    if service is None:
        return None
    folder = settings.serviceaccount_dir.absolute()
    # Not resolved: in a pod `token` is a symlink the kubelet swaps when it rotates.
    token, ca, namespace = folder / "token", folder / "ca.crt", folder / "namespace"
    if not all(path.is_file() for path in (token, ca, namespace)):
        return None
    host, port = service
    if not port.isdigit():
        raise ConfigError(f"KUBERNETES_SERVICE_PORT must be a port number, got {port!r}")
    if ":" in host:
        host = f"[{host}]"
    return PodIdentity(f"https://{host}:{port}", token, ca, namespace.read_text().strip())


def _absolute(entry: dict[str, Any], fields: tuple[str, ...], base: Path) -> dict[str, Any]:
    fixed = dict(entry)
    for name in fields:
        value = fixed.get(name)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            fixed[name] = str(base / value)
    return fixed


def _entries(document: dict[str, Any], kind: str, base: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for entry in document.get(f"{kind}s") or []:
        if isinstance(entry, dict) and isinstance(entry.get(kind), dict):
            inner = _absolute(entry[kind], _PATH_FIELDS.get(kind, ()), base)
            entry = {**entry, kind: inner}
        entries.append(entry)
    return entries


def kubeconfig_document(identity: PodIdentity, configured: Path | None) -> dict[str, Any]:
    """The configured kubeconfig (if any) with the `in-cluster` cluster, user and context."""
    document: dict[str, Any] = {"apiVersion": "v1", "kind": "Config"}
    if configured is not None:
        try:
            loaded = yaml.safe_load(configured.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(
                f"cannot read kubeconfig {str(configured)!r}: {truncate(str(e), 200)}"
            ) from e
        if not isinstance(loaded, dict):
            raise ConfigError(f"kubeconfig {str(configured)!r} is not a mapping")
        base = configured.absolute().parent
        document = {**loaded, **{k: _entries(loaded, k, base) for k in ("cluster", "user")}}
        document["contexts"] = list(loaded.get("contexts") or [])
    document.setdefault("contexts", [])
    if any(isinstance(c, dict) and c.get("name") == CONTEXT for c in document["contexts"]):
        raise ConfigError(
            f"the kubeconfig already has a context named {CONTEXT!r}, which opsgate gives "
            "the pod's ServiceAccount; rename that context"
        )
    document.setdefault("current-context", CONTEXT)
    document["clusters"] = [
        *document.get("clusters", []),
        {
            "name": CONTEXT,
            "cluster": {"server": identity.server, "certificate-authority": str(identity.ca_file)},
        },
    ]
    document["users"] = [
        *document.get("users", []),
        {"name": CONTEXT, "user": {"tokenFile": str(identity.token_file)}},
    ]
    document["contexts"].append(
        {
            "name": CONTEXT,
            "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": identity.namespace},
        }
    )
    return document


@contextmanager
def pod_settings(settings: Settings) -> Iterator[Settings]:
    """`settings` whose kubeconfig also offers `in-cluster` while this runs in a pod (the
    written file is removed at exit); `settings` unchanged anywhere else."""
    identity = detect(settings)
    if identity is None:
        yield settings
        return
    document = kubeconfig_document(identity, settings.kubeconfig)
    folder = Path(tempfile.mkdtemp(prefix="opsgate-kube-"))
    try:
        path = folder / KUBECONFIG_NAME
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            yaml.safe_dump(document, out, sort_keys=False)
        yield settings.model_copy(update={"kubeconfig": path})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
