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


def call_hash(tool: str, args: Mapping[str, Any], context: str | None) -> str:
    """The SHA-256 that binds an approval to exactly one (tool, arguments, context)."""
    return sha256_hex(canonical_json({"tool": tool, "args": dict(args), "context": context}))
