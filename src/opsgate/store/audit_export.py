"""Audit export (JSONL with hashes and the signed head, or CSV) and the offline check of JSONL.

The CLI's `opsgate audit export` calls `export_audit`, the API's export route `export_lines`;
`verify_export_lines` is what a third party runs (docs/audit.md shows the same check for a
complete export in a short standard-library script).

JSONL: each event line is the canonical JSON (sorted keys, no spaces, UTF-8) of one event:
`seq`, `at` (ISO 8601, UTC), `actor_id`, `actor_name`, `kind`, `conversation_id`, `run_id`,
`call_id`, `tool`, `payload`, `prev_hash`, `hash` and `mac`, where `hash` is the SHA-256 of
the canonical JSON of every key but `hash` and `mac` (`opsgate.domain.audit.chain_hash`) and
`mac` its HMAC under the audit key. Events older than the key have neither `tool` nor `mac`.
The last line is `{"head":{"hash":…,"keyed_from":…,"seq":…,"signature":…}}`, the signed head
as the export began (`{"head":null}` if the database has none); later events are left out.
CSV: the same columns, then one last row of kind `audit.head` whose `seq` and `hash` are the
head's and whose `payload` is the head record's canonical JSON.

Chain rule for filtered exports (`since`, `conversation`): every line's own hash is checked;
the link `prev_hash == hash of the line before` only between lines whose `seq` values are
consecutive, because the events in a gap were filtered out. Seqs must increase. With
`complete=True` (an unfiltered export) the events must run from seq 1, chained to the genesis
hash, without a gap, up to the head record's seq and hash.
"""

from __future__ import annotations

import csv
import hmac
import io
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any, Literal, TextIO

from opsgate.domain.audit import GENESIS_HASH, AuditEvent, AuditHead, event_mac, head_signature
from opsgate.domain.canonical import canonical_json, sha256_hex, strict_json
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
    "tool",
    "payload",
    "prev_hash",
    "hash",
    "mac",
)
HEAD_KIND = "audit.head"
"""The `kind` of the CSV export's last row, which holds the head record."""
_EVENT_KEYS = frozenset(CSV_COLUMNS) - {"tool", "mac"}


def event_json(event: AuditEvent) -> dict[str, Any]:
    """The event as the plain JSON object an export line holds."""
    line: dict[str, Any] = {
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
    if event.mac is not None:  # keyed: its hash covers `tool` too
        line["tool"], line["mac"] = event.tool, event.mac
    return line


def event_line(event: AuditEvent) -> str:
    """One JSONL line (without the newline)."""
    return canonical_json(event_json(event))


def head_line(head: AuditHead | None) -> str:
    """The JSONL export's last line."""
    return canonical_json({"head": None if head is None else head.model_dump()})


def _csv_line(row: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


def _csv_event(event: AuditEvent) -> str:
    row = event_json(event)
    row["payload"] = canonical_json(row["payload"])
    row["tool"] = event.tool  # for reading: shown for events older than the key too
    return _csv_line(row.get(column) for column in CSV_COLUMNS)


def _csv_head(head: AuditHead | None) -> str:
    values: dict[str, Any] = {"kind": HEAD_KIND, "payload": canonical_json(None)}
    if head is not None:
        values |= {"seq": head.seq, "hash": head.hash, "payload": canonical_json(head.model_dump())}
    return _csv_line(values.get(column) for column in CSV_COLUMNS)


async def export_lines(
    store: Store,
    *,
    fmt: ExportFormat = "jsonl",
    since: datetime | None = None,
    conversation_id: str | None = None,
) -> AsyncIterator[str]:
    """The export's lines, each ending in a newline: events in seq order, then the head."""
    head = await store.get_audit_head()
    flt = AuditFilter(since=since, conversation_id=conversation_id)
    if fmt == "csv":
        yield _csv_line(CSV_COLUMNS)
    async for event in store.iter_audit(flt):
        if head is not None and event.seq > head.seq:
            break  # appended after the export began: the head does not cover it
        yield _csv_event(event) if fmt == "csv" else event_line(event) + "\n"
    yield _csv_head(head) if fmt == "csv" else head_line(head) + "\n"


async def export_audit(
    store: Store,
    out: TextIO,
    *,
    fmt: ExportFormat = "jsonl",
    since: datetime | None = None,
    conversation_id: str | None = None,
) -> int:
    """Write the export to `out`; return how many events it holds."""
    lines = 0
    async for line in export_lines(store, fmt=fmt, since=since, conversation_id=conversation_id):
        out.write(line)
        lines += 1
    return lines - (2 if fmt == "csv" else 1)  # the CSV header and the head record


class _Refused(Exception):
    """One reason an export does not verify (caught in `verify_export_lines`)."""

    def __init__(
        self, reason: str, seq: int | None = None, missing: tuple[int, int] | None = None
    ) -> None:
        super().__init__(reason)
        self.seq = seq
        self.missing = missing


def verify_export_lines(
    lines: Iterable[str], *, complete: bool = False, key: bytes | None = None
) -> ChainVerification:
    """Check a JSONL export offline (see the module docstring); with `key`, its HMACs too."""
    head: AuditHead | None = None
    checked, previous = 0, None

    def refused(e: _Refused) -> ChainVerification:
        return ChainVerification(
            ok=False,
            checked=checked,
            first_broken_seq=e.seq,
            reason=str(e),
            missing_range=e.missing,
            head_seq=None if head is None else head.seq,
            head_hash=None if head is None else head.hash,
            keyed=key is not None,
        )

    try:
        parsed = _parse(lines)
        head = _head(parsed[-1][1]["head"], key)
    except _Refused as e:
        return refused(e)
    for number, event in parsed[:-1]:
        try:
            _check_event(event, previous, head, complete, key)
        except _Refused as e:
            return refused(_Refused(f"line {number}: {e}", e.seq, e.missing))
        checked, previous = checked + 1, event
    try:
        _check_end(previous, head, complete)
    except _Refused as e:
        return refused(e)
    return ChainVerification(
        ok=True,
        checked=checked,
        head_seq=head.seq,
        head_hash=head.hash,
        keyed=key is not None,
        unkeyed_range=(1, head.keyed_from - 1) if head.keyed_from > 1 else None,
    )


def _parse(lines: Iterable[str]) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of every line; each must be canonical JSON, the last the head."""
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = strict_json(line)
        except ValueError as e:
            raise _Refused(f"line {number}: not JSON ({e})") from e
        if not isinstance(value, dict) or canonical_json(value) != line:
            raise _Refused(f"line {number}: not an export line in canonical JSON")
        parsed.append((number, value))
    if not parsed or set(parsed[-1][1]) != {"head"}:
        raise _Refused("the export has no head record as its last line (cut off?)")
    return parsed


def _head(value: Any, key: bytes | None) -> AuditHead:
    if value is None:
        raise _Refused("the database had no head record when this was exported")
    try:
        head = AuditHead.model_validate(value, strict=True)
    except ValueError as e:
        raise _Refused("the head record is malformed") from e
    if key is not None:
        expected = head_signature(key, seq=head.seq, hash=head.hash, keyed_from=head.keyed_from)
        if not hmac.compare_digest(expected, head.signature):
            raise _Refused("the head record's signature does not verify with this key")
    return head


def _check_event(
    event: dict[str, Any],
    previous: dict[str, Any] | None,
    head: AuditHead,
    complete: bool,
    key: bytes | None,
) -> None:
    seq = event.get("seq")
    if type(seq) is not int:
        raise _Refused("not an audit event (no integer seq)")
    keyed = seq >= head.keyed_from
    expected_keys = _EVENT_KEYS | {"tool", "mac"} if keyed else _EVENT_KEYS
    if set(event) != expected_keys:
        what = "a keyed event needs" if keyed else "an event older than the key has"
        raise _Refused(f"{what} exactly the keys {sorted(expected_keys)}", seq)
    _check_link(previous, seq, event["prev_hash"], complete)
    if seq > head.seq:
        raise _Refused(f"seq {seq} comes after the head record (seq {head.seq})", seq)
    body = {name: value for name, value in event.items() if name not in ("hash", "mac")}
    if sha256_hex(canonical_json(body)) != event["hash"]:
        raise _Refused("hash does not match the event's contents", seq)
    if (
        keyed
        and key is not None
        and not hmac.compare_digest(event_mac(key, event["hash"]), str(event["mac"]))
    ):
        raise _Refused("HMAC does not verify with this key", seq)


def _check_link(previous: dict[str, Any] | None, seq: int, prev_hash: Any, complete: bool) -> None:
    if previous is None:
        if complete and seq != 1:
            raise _Refused(f"events 1..{seq - 1} are missing from the start", 1, (1, seq - 1))
        if complete and prev_hash != GENESIS_HASH:
            raise _Refused("the first event is not chained to the genesis hash", seq)
        return
    if seq <= previous["seq"]:
        raise _Refused(f"seq {seq} does not increase after {previous['seq']}", seq)
    if seq == previous["seq"] + 1:
        if prev_hash != previous["hash"]:
            raise _Refused("prev_hash does not match the previous event's hash", seq)
    elif complete:
        first = previous["seq"] + 1
        raise _Refused(f"events {first}..{seq - 1} are missing", first, (first, seq - 1))


def _check_end(last: dict[str, Any] | None, head: AuditHead, complete: bool) -> None:
    """The events must reach the head: its seq and hash (filtered: only where it is present)."""
    last_seq = 0 if last is None else last["seq"]
    if last is not None and last_seq == head.seq and last["hash"] != head.hash:
        raise _Refused(f"event {head.seq} is not the one the head record names", head.seq)
    if complete and last_seq < head.seq:
        raise _Refused(
            f"events {last_seq + 1}..{head.seq} are missing: the head record ends at {head.seq}",
            last_seq + 1,
            (last_seq + 1, head.seq),
        )
