"""Audit events and the hash chain that links them.

The store appends events and the `audit verify` command recomputes the chain; an exported
JSONL file can be checked offline with `chain_hash` alone (see docs/audit.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from opsgate.domain.canonical import canonical_json, sha256_hex

AuditKind = Literal[
    "request",
    "plan",
    "approval.requested",
    "approval.granted",
    "approval.rejected",
    "approval.expired",
    "approval.refused",
    "tool.started",
    "tool.finished",
    "tool.outcome_unknown",
    "verify",
    "run.finished",
    "user.created",
    "user.updated",
    "user.disabled",
    "user.login",
    "token.created",
    "token.revoked",
    "settings.changed",
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
    payload: dict[str, Any]
    prev_hash: str
    hash: str


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
    payload: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of every field and the previous event's hash."""
    return sha256_hex(
        canonical_json(
            {
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
        )
    )
