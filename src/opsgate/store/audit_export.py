"""Audit export (JSONL with hashes, or CSV) and the offline check of a JSONL export.

The CLI's `opsgate audit export` and the API call `export_audit`; `verify_export_lines` is what
a third party runs (docs/audit.md shows the same check in ten lines of hashlib/json).

Each JSONL line is the canonical JSON (sorted keys, no spaces, UTF-8) of one event: `seq`,
`at` (ISO 8601, UTC), `actor_id`, `actor_name`, `kind`, `conversation_id`, `run_id`, `call_id`,
`payload`, `prev_hash` and `hash`, where `hash` is the SHA-256 of the canonical JSON of every
other key, exactly `opsgate.domain.audit.chain_hash`.

Chain rule for filtered exports (`since`, `conversation`): every line's own hash is checked;
the link `prev_hash == hash of the line before` is checked only between lines whose `seq`
values are consecutive, because the events in a gap were filtered out. Seqs must increase.
With `complete=True` (an unfiltered export) the first event must be seq 1 chained to the
genesis hash and no seq may be missing.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, TextIO

from opsgate.domain.audit import GENESIS_HASH, AuditEvent
from opsgate.domain.canonical import canonical_json, sha256_hex
from opsgate.store.protocol import Store
from opsgate.store.records import AuditFilter, ChainVerification

ExportFormat = Literal["jsonl", "csv"]
CSV_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "kind",
    "conversation_id",
    "run_id",
    "call_id",
    "payload",
    "prev_hash",
    "hash",
)


def event_json(event: AuditEvent) -> dict[str, Any]:
    """The event as the plain JSON object an export line holds."""
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "kind": event.kind,
        "conversation_id": event.conversation_id,
        "run_id": event.run_id,
        "call_id": event.call_id,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def event_line(event: AuditEvent) -> str:
    """One JSONL line (without the newline)."""
    return canonical_json(event_json(event))


async def export_audit(
    store: Store,
    out: TextIO,
    *,
    fmt: ExportFormat = "jsonl",
    since: datetime | None = None,
    conversation_id: str | None = None,
) -> int:
    """Write the matching events to `out` in seq order; return how many were written."""
    flt = AuditFilter(since=since, conversation_id=conversation_id)
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    count = 0
    async for event in store.iter_audit(flt):
        if writer is None:
            out.write(event_line(event) + "\n")
        else:
            row = event_json(event)
            row["payload"] = canonical_json(row["payload"])
            writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
        count += 1
    return count


def verify_export_lines(lines: Iterable[str], *, complete: bool = False) -> ChainVerification:
    """Check a JSONL export offline (see the module docstring for the chain rule)."""
    checked = 0
    previous: dict[str, Any] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            seq = event["seq"]
            body = {key: value for key, value in event.items() if key != "hash"}
            recomputed = sha256_hex(canonical_json(body))
            stored, prev_hash = event["hash"], event["prev_hash"]
        except (ValueError, KeyError, TypeError) as e:
            return ChainVerification(
                ok=False, checked=checked, reason=f"line {number}: not an audit event ({e})"
            )
        reason = _link_problem(previous, seq, prev_hash, complete)
        if reason is None and recomputed != stored:
            reason = "hash does not match the event's contents"
        if reason is not None:
            return ChainVerification(
                ok=False, checked=checked, first_broken_seq=seq, reason=f"line {number}: {reason}"
            )
        checked += 1
        previous = event
    return ChainVerification(ok=True, checked=checked)


def _link_problem(
    previous: dict[str, Any] | None, seq: Any, prev_hash: Any, complete: bool
) -> str | None:
    if not isinstance(seq, int):
        return "seq is not an integer"
    if previous is None:
        if complete and (seq != 1 or prev_hash != GENESIS_HASH):
            return "a complete export must start at seq 1 from the genesis hash"
        return None
    if seq <= previous["seq"]:
        return f"seq {seq} does not increase after {previous['seq']}"
    if seq == previous["seq"] + 1:
        if prev_hash != previous["hash"]:
            return "prev_hash does not match the previous event's hash"
    elif complete:
        return f"events {previous['seq'] + 1}..{seq - 1} are missing"
    return None
