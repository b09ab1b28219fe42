"""Canonical JSON and the hashes built on it.

Used by the engine (approval binding), the tool server (approval tokens) and the store
(audit chain): the same bytes must come out everywhere, so there is one definition.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no insignificant whitespace, and UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise ValueError(f"duplicate key {duplicate!r}")
    return dict(pairs)


def strict_json(text: str) -> Any:
    """Parse JSON refusing duplicate keys (plain `json.loads` silently keeps the last one)."""
    return json.loads(text, object_pairs_hook=_unique_keys)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hmac_sha256_hex(key: bytes, text: str) -> str:
    """HMAC-SHA256 of `text` (UTF-8) under `key`, as hex."""
    return hmac.digest(key, text.encode("utf-8"), "sha256").hex()


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
