"""Canonical JSON and the hashes built on it.

Used by the engine (approval binding), the tool server (approval tokens) and the store
(audit chain): the same bytes must come out everywhere, so there is one definition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no insignificant whitespace, and UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def call_hash(
    tool: str, args: Mapping[str, Any], context: str | None, cluster: str | None = None
) -> str:
    """The SHA-256 that binds an approval to exactly one (tool, arguments, context, cluster).

    `cluster` is the fingerprint of the cluster the context resolved to (server and CA), for
    tools that reach a cluster; it is left out of the hashed object when there is none.
    """
    bound: dict[str, Any] = {"tool": tool, "args": dict(args), "context": context}
    if cluster is not None:
        bound["cluster"] = cluster
    return sha256_hex(canonical_json(bound))
