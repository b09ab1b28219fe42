"""Which cluster a kubeconfig context names: its server and CA, as kubectl itself resolves them.

Served by the MCP tool server (`opsgate_cluster`) and read by its approval gate: the engine
binds every change to the cluster its context resolved to when it was proposed, and the tool
server recomputes the binding when the change arrives, so a context that now points elsewhere
(or a missing context that would fall back to whatever is current) cannot carry an approval
to another cluster. kubectl does the resolving (`config view --minify --raw`), with the same
kubeconfig, environment and merge rules as every other call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from opsgate.domain.canonical import canonical_json, sha256_hex
from opsgate.errors import ToolFailed, truncate
from opsgate.tools.base import ToolEnv
from opsgate.tools.command import Target, run_argv


class ClusterIdentity(BaseModel):
    """A context and the cluster it points at; `fingerprint` is what approvals bind."""

    model_config = ConfigDict(frozen=True)

    context: str
    server: str
    ca_sha256: str | None
    """SHA-256 of the cluster's CA certificate (inline data or file), when one is configured."""
    fingerprint: str


def identity_argv(target: Target) -> list[str]:
    return [*target.head(), "config", "view", "--minify", "--raw", "--output=json"]


async def cluster_identity(env: ToolEnv, context: str | None) -> ClusterIdentity:
    """The cluster `context` (or, when None, the kubeconfig's current context) points at.

    Raises:
        ToolFailed: the context does not exist or names no cluster.
    """
    output = await run_argv(env, identity_argv(Target.of(env, "kubectl", context)))
    if not output.ok:
        raise ToolFailed(f"context {context!r} does not resolve: {truncate(output.text, 300)}")
    try:
        config = json.loads(output.text)
        return identity_of(config)
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise ToolFailed(f"context {context!r} names no usable cluster ({e!r})") from e


def identity_of(config: dict[str, Any]) -> ClusterIdentity:
    """The identity in a minified kubeconfig (one context, one cluster)."""
    context = str(config["contexts"][0]["name"])
    cluster = config["clusters"][0]["cluster"]
    server = str(cluster["server"])
    ca_sha256 = _ca_sha256(cluster)
    binding = {
        "server": server,
        "ca_sha256": ca_sha256,
        "tls_server_name": cluster.get("tls-server-name"),
        "insecure": bool(cluster.get("insecure-skip-tls-verify", False)),
    }
    return ClusterIdentity(
        context=context,
        server=server,
        ca_sha256=ca_sha256,
        fingerprint=sha256_hex(canonical_json(binding))[:32],
    )


def _ca_sha256(cluster: dict[str, Any]) -> str | None:
    data = cluster.get("certificate-authority-data")
    if isinstance(data, str) and data:
        try:
            return hashlib.sha256(base64.b64decode(data, validate=True)).hexdigest()
        except binascii.Error:
            return hashlib.sha256(data.encode()).hexdigest()
    path = cluster.get("certificate-authority")
    if isinstance(path, str) and path:
        try:
            with open(path, "rb") as ca_file:
                return hashlib.sha256(ca_file.read()).hexdigest()
        except OSError as e:
            raise ToolFailed(f"the cluster's CA file {path!r} cannot be read: {e}") from e
    return None
