"""One kubeconfig context as the native read path connects with it: server, trust, credentials.

Called by `pool.ApiPool` when it first opens a context. Reads the kubeconfig file the server was
configured with (the same file every kubectl argv names) and resolves one context into an
`Endpoint`, following kubectl's rules: file paths relative to the kubeconfig's folder,
`*-data` fields base64-encoded PEM, a bearer `token` or a `tokenFile` (the in-cluster
ServiceAccount mount, `tools.in_cluster`), client certificates, and `exec` credential plugins
(`credentials.ExecPlugin`). Anything kubectl would do that this does not reproduce exactly
(auth providers, basic auth, proxies, a TLS server name) raises `NotNative`, so the read runs
kubectl instead. Credentials live only in the returned object, never in a message.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsgate.errors import NotNative, truncate

_UNSUPPORTED_CLUSTER = ("proxy-url", "tls-server-name", "disable-compression")
_UNSUPPORTED_USER = ("auth-provider", "username", "password", "as", "as-groups", "as-uid")


@dataclass(frozen=True)
class ExecConfig:
    """A user's `exec` credential plugin, as the kubeconfig declares it."""

    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    api_version: str
    provide_cluster_info: bool
    base: Path
    """The kubeconfig's folder: a command with a `/` in it is relative to it."""


@dataclass(frozen=True)
class Endpoint:
    """How to reach and authenticate to one context's API server."""

    context: str
    server: str
    namespace: str
    """The context's namespace (`default` when it names none)."""
    ca_pem: bytes | None = None
    insecure: bool = False
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    token: str | None = None
    token_file: Path | None = None
    exec: ExecConfig | None = None

    @property
    def tls(self) -> bool:
        return self.server.startswith("https://")


def _named(document: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    for entry in document.get(f"{kind}s") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            inner = entry.get(kind)
            return inner if isinstance(inner, dict) else {}
    raise NotNative(f"the kubeconfig has no {kind} {name!r}")


def _pem(entry: dict[str, Any], field: str, base: Path) -> bytes | None:
    data = entry.get(f"{field}-data")
    if isinstance(data, str) and data:
        try:
            return base64.b64decode(data, validate=True)
        except binascii.Error as e:
            raise NotNative(f"{field}-data is not base64") from e
    path = entry.get(field)
    if isinstance(path, str) and path:
        try:
            return (base / path).read_bytes()
        except OSError as e:
            raise NotNative(f"cannot read {field} {path!r}: {truncate(str(e), 200)}") from e
    return None


def _exec_config(entry: Any, base: Path) -> ExecConfig:
    if not isinstance(entry, dict) or not isinstance(entry.get("command"), str):
        raise NotNative("the exec credential plugin names no command")
    env = tuple(
        (str(item.get("name")), str(item.get("value", "")))
        for item in entry.get("env") or []
        if isinstance(item, dict)
    )
    return ExecConfig(
        command=entry["command"],
        args=tuple(str(arg) for arg in entry.get("args") or []),
        env=env,
        api_version=str(entry.get("apiVersion") or ""),
        provide_cluster_info=bool(entry.get("provideClusterInfo")),
        base=base,
    )


def load(path: Path, context: str | None) -> Endpoint:
    """The `Endpoint` of `context` (the current context when None) in the kubeconfig `path`.

    Raises:
        NotNative: the file cannot be read, the context is not in it, or it uses something
            only kubectl itself does exactly.
    """
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise NotNative(f"cannot read kubeconfig {str(path)!r}: {truncate(str(e), 200)}") from e
    if not isinstance(document, dict):
        raise NotNative(f"kubeconfig {str(path)!r} is not a mapping")
    name = context if context is not None else document.get("current-context")
    if not isinstance(name, str) or not name:
        raise NotNative("no context named and the kubeconfig has no current-context")
    ctx = _named(document, "context", name)
    cluster = _named(document, "cluster", str(ctx.get("cluster", "")))
    user = _named(document, "user", str(ctx.get("user", ""))) if ctx.get("user") else {}
    base = path.absolute().parent
    for field in _UNSUPPORTED_CLUSTER:
        if cluster.get(field):
            raise NotNative(f"the cluster sets {field!r}")
    for field in _UNSUPPORTED_USER:
        if user.get(field):
            raise NotNative(f"the user sets {field!r}")
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("http://", "https://")):
        raise NotNative("the cluster has no http(s) server")
    token = user.get("token") if isinstance(user.get("token"), str) else None
    token_file = user.get("tokenFile")
    endpoint = Endpoint(
        context=name,
        server=server.rstrip("/"),
        namespace=str(ctx.get("namespace") or "default"),
        ca_pem=_pem(cluster, "certificate-authority", base),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        client_cert_pem=_pem(user, "client-certificate", base),
        client_key_pem=_pem(user, "client-key", base),
        token=token or None,
        token_file=base / token_file if isinstance(token_file, str) and token_file else None,
        exec=_exec_config(user["exec"], base) if user.get("exec") else None,
    )
    if (endpoint.token or endpoint.token_file or endpoint.exec) and not endpoint.tls:
        # kubectl does not send credentials over plain HTTP; neither is this path's to decide.
        raise NotNative("bearer credentials configured for a plain-HTTP server")
    return endpoint
