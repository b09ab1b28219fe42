"""The audit head record: where the log ends, signed with the audit key, in its own table.

`audit_log.append_many` reads it and moves it in the same transaction as every append, and
refuses to append when it does not match the table (so a cut-off tail is never signed over);
`sql.open_store` checks it at start and `audit_verify.verify_chain` after every verification.
Only a holder of the audit key can sign a head, and the database triggers (migration 0002)
let it move only forward, so an older signed head cannot be put back.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opsgate.domain.audit import GENESIS_HASH, AuditHead, head_signature
from opsgate.store import db
from opsgate.store.driver_sql import DriverSql

# Scalar subqueries: SQLite plans a join on the tail by materialising it (slower per append).
_HEAD_AND_TAIL = (
    "SELECT keyed_from, seq, hash, signature, "
    "(SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1), "
    "(SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) FROM audit_head"
)
_MOVE = {
    "sqlite": "UPDATE audit_head SET seq = ?, hash = ?, signature = ? WHERE id = 1",
    "postgresql": (
        "UPDATE audit_head SET seq = %(seq)s, hash = %(hash)s, signature = %(signature)s "
        "WHERE id = 1"
    ),
}


@dataclass(frozen=True)
class HeadAndTail:
    """The head record (None when missing) and the table's last event, read in one statement."""

    head: AuditHead | None
    tail_seq: int
    tail_hash: str


@dataclass(frozen=True)
class HeadProblem:
    """Why the head record does not vouch for the table."""

    reason: str
    first_broken_seq: int | None = None
    missing_range: tuple[int, int] | None = None


def read(sql: DriverSql) -> HeadAndTail:
    """The head record as stored (unchecked) and the table's last event."""
    found: Sequence[Sequence[Any]] = sql.rows(_HEAD_AND_TAIL)
    if not found:
        # No head at all: report the table's tail so that a verifier can still name it.
        tail = sql.rows("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        if not tail:
            return HeadAndTail(None, 0, GENESIS_HASH)
        return HeadAndTail(None, int(tail[0][0]), str(tail[0][1]))
    keyed_from, seq, head_hash, signature, tail_seq, tail_hash = found[0]
    head = AuditHead(
        seq=int(seq), hash=str(head_hash), keyed_from=int(keyed_from), signature=str(signature)
    )
    if tail_seq is None:
        return HeadAndTail(head, 0, GENESIS_HASH)
    return HeadAndTail(head, int(tail_seq), str(tail_hash))


def signed_by(head: AuditHead, key: bytes) -> bool:
    expected = head_signature(key, seq=head.seq, hash=head.hash, keyed_from=head.keyed_from)
    return hmac.compare_digest(expected, head.signature)


def signature_problem(head: AuditHead | None, key: bytes) -> HeadProblem | None:
    """The head is missing or not signed with `key` (checked before trusting `keyed_from`)."""
    if head is None:
        return HeadProblem("the audit head record is missing (its row was deleted)")
    if not signed_by(head, key):
        return HeadProblem(
            "the audit head record's signature does not verify with this server's audit key "
            "(the record was edited, or the store was opened with another key)"
        )
    return None


def problem(state: HeadAndTail, key: bytes) -> HeadProblem | None:
    """Whether the signed head vouches for the table's last event; None when it does."""
    unsigned = signature_problem(state.head, key)
    if unsigned is not None or state.head is None:
        return unsigned
    head, tail = state.head, state.tail_seq
    if tail < head.seq:
        return HeadProblem(
            f"events {tail + 1}..{head.seq} are missing: the signed head record says the log "
            f"ends at seq {head.seq}, the table ends at {tail}",
            first_broken_seq=tail + 1,
            missing_range=(tail + 1, head.seq),
        )
    if tail > head.seq:
        return HeadProblem(
            f"events {head.seq + 1}..{tail} follow the signed head record (seq {head.seq}): "
            "they were not appended through opsgate",
            first_broken_seq=head.seq + 1,
        )
    if state.tail_hash != head.hash:
        return HeadProblem(
            f"event {head.seq} is not the event the signed head record names (hash differs)",
            first_broken_seq=head.seq,
        )
    return None


def move(
    sql: DriverSql, backend: db.Backend, key: bytes, *, seq: int, hash: str, keyed_from: int
) -> None:
    """Sign and point the head at the event just appended (inside the append's transaction)."""
    signature = head_signature(key, seq=seq, hash=hash, keyed_from=keyed_from)
    if backend == "sqlite":
        sql.execute(_MOVE["sqlite"], (seq, hash, signature))
    else:
        sql.execute(_MOVE["postgresql"], {"seq": seq, "hash": hash, "signature": signature})
