"""Audit events, the hash chain that links them, and the keyed parts that make it authentic.

The store appends events and the `audit verify` command recomputes the chain; an exported
JSONL file can be checked offline with these definitions alone (see docs/audit.md).

Each event's `hash` is the SHA-256 of the canonical JSON of every stored field and the
previous event's hash (anyone can recompute it). Its `mac` is the HMAC-SHA256 of that hash
under the server's audit key: only the key's holder can produce it, so a database writer
without the key cannot rewrite the chain. The head record (`AuditHead`) names the last event
and is signed with the same key, so a cut-off tail is found too. Events written before the
chain was keyed (`seq < keyed_from`) have no `mac` and their text has no `tool` field.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from opsgate.domain.canonical import canonical_json, hmac_sha256_hex, sha256_hex

AuditKind = Literal[
    "request",
    "plan",
    "approval.requested",
    "approval.granted",
    "approval.rejected",
    "approval.expired",
    "approval.refused",
    "approval.break_glass",
    "tool.started",
    "tool.finished",
    "tool.outcome_unknown",
    "verify",
    "run.finished",
    "user.created",
    "user.updated",
    "user.disabled",
    "user.login",
    "user.granted",
    "user.grant_revoked",
    "user.sso_login",
    "user.sso_refused",
    "token.created",
    "token.revoked",
    "settings.changed",
    "settings.local_login",
    "policy.changed",
    "alert.received",
    "alert.deduplicated",
    "alert.rate_limited",
    "alert.investigation_opened",
    "alert.resolved",
]

GENESIS_HASH = "0" * 64


class AuditEvent(BaseModel):
    """One row of the append-only audit log."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime
    actor_id: str | None
    actor_name: str
    """A username, or `engine` for what the engine did on its own."""
    kind: AuditKind
    conversation_id: str | None = None
    run_id: str | None = None
    call_id: str | None = None
    tool: str | None = None
    """`payload["tool"]` when it is a string, stored apart for filtering (and hashed)."""
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    mac: str | None = None
    """HMAC-SHA256 of `hash` under the audit key; None only for events older than the key."""


class AuditHead(BaseModel):
    """The signed record of where the log ends, kept outside the log's table."""

    model_config = ConfigDict(frozen=True)

    seq: int
    """The last event's seq (0 for an empty log)."""
    hash: str
    """The last event's hash (`GENESIS_HASH` for an empty log)."""
    keyed_from: int
    """The first seq that carries a `mac`; earlier events predate the audit key."""
    signature: str
    """`head_signature` of the three fields above."""


def chain_hash(
    *,
    seq: int,
    at: datetime,
    actor_id: str | None,
    actor_name: str,
    kind: str,
    conversation_id: str | None,
    run_id: str | None,
    call_id: str | None,
    tool: str | None,
    payload: dict[str, Any],
    prev_hash: str,
    legacy: bool = False,
) -> str:
    """SHA-256 over the canonical JSON of every field and the previous event's hash.

    `legacy`: the text of events written before the chain was keyed, which left `tool` out.
    """
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at.isoformat(),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "kind": kind,
        "conversation_id": conversation_id,
        "run_id": run_id,
        "call_id": call_id,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    if not legacy:
        fields["tool"] = tool
    return sha256_hex(canonical_json(fields))


def event_mac(key: bytes, event_hash: str) -> str:
    """The event's HMAC: over its 64-hex `hash`, which already covers every field."""
    return hmac_sha256_hex(key, event_hash)


def head_text(*, seq: int, hash: str, keyed_from: int) -> str:
    """What a head signature covers: canonical JSON of the three fields (never a bare hash,
    so a head signature can never pass for an event's mac or the other way round)."""
    return canonical_json({"hash": hash, "keyed_from": keyed_from, "seq": seq})


@functools.lru_cache(maxsize=64)
def head_signature(key: bytes, *, seq: int, hash: str, keyed_from: int) -> str:
    # Cached: every append checks the head it reads, which is usually the one it last signed.
    return hmac_sha256_hex(key, head_text(seq=seq, hash=hash, keyed_from=keyed_from))


def signed_head(key: bytes, *, seq: int, hash: str, keyed_from: int) -> AuditHead:
    signature = head_signature(key, seq=seq, hash=hash, keyed_from=keyed_from)
    return AuditHead(seq=seq, hash=hash, keyed_from=keyed_from, signature=signature)
