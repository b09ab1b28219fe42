"""Verifying the audit log in the database: the whole chain, and single events for evidence.

`SqlStore.verify_audit` (through `sqlite_audit` on SQLite) runs `verify_chain` in one read
transaction; `SqlStore.approval_evidence` runs `approval_evidence` over the few events that
name one approval. Each event is checked for what a writer without the audit key cannot fake:
the hash over every stored column and the HMAC of that hash; the chain adds seq continuity
from 1 and the links, and the signed head record must name the table's last event.

Events older than the key (`seq < keyed_from`, written before migration 0002) are checked as
the plain SHA-256 chain they are, with canonical payload text and the `tool` column derived
from it, and reported as unkeyed.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from opsgate.domain.audit import GENESIS_HASH, AuditEvent, event_mac
from opsgate.domain.canonical import canonical_json, sha256_hex, strict_json
from opsgate.store import audit_head, audit_log
from opsgate.store.driver_sql import DriverSql
from opsgate.store.records import ApprovalEvidence, ChainVerification

# The columns of `audit_log.COLUMNS`, in that order.
_PAGE = (
    "SELECT seq, at, actor_id, actor_name, kind, conversation_id, run_id, call_id, tool, "
    "payload, prev_hash, hash, mac FROM audit_log WHERE seq >= {mark} ORDER BY seq LIMIT {limit}"
)
# `audit_log.stored_at`'s text: other spellings of the same time parse (and hash) alike.
_SQLITE_AT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
DECISIONS = ("approval.granted", "approval.rejected")
APPROVAL_KINDS = ("approval.requested", *DECISIONS)


def verify_chain(sql: DriverSql, key: bytes, batch: int = audit_log.BATCH) -> ChainVerification:
    """Recompute the chain page by page, then hold the table's end against the signed head.

    Synchronous and on driver-level rows because it touches every event.
    """
    start = audit_head.read(sql)
    unsigned = audit_head.signature_problem(start.head, key)
    if unsigned is not None or start.head is None:
        missing = unsigned.reason if unsigned is not None else "no head record"
        return _verdict(start, checked=0, reason=missing, signed=False)
    keyed_from = start.head.keyed_from
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    while True:
        rows = sql.rows(_PAGE.format(mark=int(expected_seq), limit=int(batch)))
        for row in rows:
            seq = row[0]
            if seq != expected_seq:
                return _verdict(
                    start,
                    checked=checked,
                    reason=f"events {expected_seq}..{seq - 1} are missing (next is {seq})",
                    first_broken_seq=expected_seq,
                    missing_range=(expected_seq, seq - 1),
                )
            reason = (
                "prev_hash does not match the previous event's hash"
                if row[10] != prev_hash
                else event_problem(row, key, keyed=seq >= keyed_from)
            )
            if reason is not None:
                return _verdict(start, checked=checked, reason=reason, first_broken_seq=seq)
            checked += 1
            expected_seq, prev_hash = seq + 1, row[11]
        if len(rows) < batch:
            break
    # Read again, in one statement: appends made while the pages were read moved the head.
    end = audit_head.read(sql)
    trouble = audit_head.problem(end, key)
    if trouble is not None:
        return _verdict(
            end,
            checked=checked,
            reason=trouble.reason,
            first_broken_seq=trouble.first_broken_seq,
            missing_range=trouble.missing_range,
        )
    return _verdict(end, checked=checked, reason=None)


def _verdict(
    state: audit_head.HeadAndTail,
    *,
    checked: int,
    reason: str | None,
    first_broken_seq: int | None = None,
    missing_range: tuple[int, int] | None = None,
    signed: bool = True,
) -> ChainVerification:
    head = state.head
    unkeyed = None
    if head is not None and signed and head.keyed_from > 1:
        unkeyed = (1, head.keyed_from - 1)
    return ChainVerification(
        ok=reason is None and head is not None,
        checked=checked,
        first_broken_seq=first_broken_seq,
        reason=reason,
        missing_range=missing_range,
        head_seq=None if head is None else head.seq,
        head_hash=None if head is None else head.hash,
        keyed=True,
        unkeyed_range=unkeyed,
    )


def event_problem(row: Sequence[Any], key: bytes, *, keyed: bool) -> str | None:
    """What is wrong with one event on its own (its columns against its hash and HMAC)."""
    seq, at, actor_id, actor_name, kind, conversation_id, run_id, call_id, tool = row[:9]
    payload_text, prev_hash, stored_hash, mac = row[9:]
    try:
        when = audit_log.utc_at(at)
        text = audit_log.chain_text(
            seq=seq,
            at=when.isoformat(),
            actor_id=actor_id,
            actor_name=actor_name,
            kind=kind,
            conversation_id=conversation_id,
            run_id=run_id,
            call_id=call_id,
            tool=tool,
            payload_text=payload_text,
            prev_hash=prev_hash,
            legacy=not keyed,
        )
    except (TypeError, ValueError, AttributeError):
        return "a column holds a value of the wrong type"
    if isinstance(at, str) and _SQLITE_AT.fullmatch(at) is None:
        return "the stored time is not in its canonical form"
    if keyed:
        if mac is None:
            return "the event has no HMAC: it was not written with the audit key"
        if sha256_hex(text) != stored_hash:
            return _payload_problem(payload_text)[0] or "hash does not match the event's contents"
        # A verified HMAC means the key's holder wrote this very (canonical) text: no parse.
        if not hmac.compare_digest(event_mac(key, stored_hash), str(mac)):
            return "HMAC does not verify: the event was not written with this server's audit key"
        return None
    if mac is not None:
        return "an event older than the audit key carries an HMAC"
    problem, payload = _payload_problem(payload_text)
    if problem is not None:
        return problem
    if tool != audit_log.stored_tool(payload):
        return "the tool column does not match the payload"
    if sha256_hex(text) != stored_hash:
        return "hash does not match the event's contents"
    return None


def _payload_problem(text: str) -> tuple[str | None, dict[str, Any]]:
    """(what is wrong with a payload's stored text, the payload); anyone can hash bad text."""
    try:
        payload = strict_json(text)
    except ValueError as e:
        reason = str(e) if str(e).startswith("duplicate key") else "not valid JSON"
        return f"payload is refused: {reason}", {}
    if not isinstance(payload, dict):
        return "payload is refused: not a JSON object", {}
    if canonical_json(payload) != text:
        return "payload is refused: its text is not canonical JSON", payload
    return None, payload


def approval_evidence(
    rows: Iterable[Sequence[Any]], key: bytes, keyed_from: int, approval_id: str, call_id: str
) -> ApprovalEvidence:
    """Sort approval events (`audit_log.COLUMNS` rows, seq order) into evidence and forgeries.

    An event counts only if its own hash and HMAC verify (given its stored prev_hash); the
    first authentic request entry and the first authentic decision win.
    """
    requested: dict[str, Any] | None = None
    requirement: dict[str, Any] | None = None
    decision: AuditEvent | None = None
    counted: list[AuditEvent] = []
    forged: list[int] = []
    for row in rows:
        seq, kind, row_call, payload_text, mac = row[0], row[4], row[7], row[9], row[12]
        if kind not in APPROVAL_KINDS:
            continue
        try:
            payload = json.loads(payload_text)
        except (TypeError, ValueError):
            payload = None
        names_call, evidence = _naming(kind, row_call, payload, approval_id, call_id)
        if not names_call:
            continue
        if mac is None and seq < keyed_from:
            continue
        if event_problem(row, key, keyed=True) is not None:
            forged.append(seq)
        elif evidence is None:
            continue
        elif kind == "approval.requested":
            if requested is None:
                requested = evidence
                requirement = _requirement(payload, call_id)
        elif payload.get("settled") is False:
            # An approval a policy's quorum counted that did not settle the call yet.
            counted.append(audit_log.event_from_row(row))
        elif decision is None:
            decision = audit_log.event_from_row(row)
    return ApprovalEvidence(
        requested=requested,
        requirement=requirement,
        decision=decision,
        counted=counted,
        forged=forged,
    )


def _requirement(payload: dict[str, Any], call_id: str) -> dict[str, Any] | None:
    requirements = payload.get("requirements")
    found = requirements.get(call_id) if isinstance(requirements, dict) else None
    return found if isinstance(found, dict) else None


def _naming(
    kind: str, row_call: str | None, payload: Any, approval_id: str, call_id: str
) -> tuple[bool, dict[str, Any] | None]:
    """(whether the event names this approval or call, its evidence when it names both)."""
    if not isinstance(payload, dict):
        return row_call == call_id, None
    same_approval = payload.get("approval_id") == approval_id
    if kind == "approval.requested":
        calls = payload.get("calls")
        entries = [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []
        entry = next((c for c in entries if c.get("call_id") == call_id), None)
        return same_approval or entry is not None, entry if same_approval else None
    this_call = call_id in (row_call, payload.get("call_id"))
    return same_approval or this_call, payload if same_approval and this_call else None
