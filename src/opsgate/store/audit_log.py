"""The audit log on SQL: keyed, hash-chained appends under a database lock, filtered reads.

`SqlStore` delegates its audit methods here (verification is `audit_verify`). Appends take the
database-wide write lock (SQLite `BEGIN IMMEDIATE`; PostgreSQL `pg_advisory_xact_lock`), check
the signed head record against the table's last event, insert, and move the head, all in one
transaction: appends from any number of processes extend one chain, and a cut-off or forged
tail is refused rather than signed over. Nothing here updates or deletes an event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from json.encoder import encode_basestring
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, and_, select

from opsgate.domain.audit import AuditEvent, event_mac
from opsgate.domain.canonical import canonical_json, sha256_hex
from opsgate.errors import InvalidInput, StoreError
from opsgate.store import audit_head, db, tables
from opsgate.store.driver_sql import DriverSql
from opsgate.store.records import AuditFilter, NewAuditEvent

BATCH = 2000
T = tables.audit_log


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def normalise_payload(payload: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The payload exactly as it will read back, and its canonical JSON text."""
    try:
        plain = json.loads(json.dumps(dict(payload), default=_json_default))
    except (TypeError, ValueError) as e:
        raise InvalidInput("payload", f"not JSON serialisable: {e}") from e
    return plain, canonical_json(plain)


def _text(value: str | None) -> str:
    # The very string encoder `json.dumps(..., ensure_ascii=False)` uses.
    return "null" if value is None else encode_basestring(value)


def chain_text(
    *,
    seq: int,
    at: str,
    actor_id: str | None,
    actor_name: str,
    kind: str,
    conversation_id: str | None,
    run_id: str | None,
    call_id: str | None,
    tool: str | None,
    payload_text: str,
    prev_hash: str,
    legacy: bool = False,
) -> str:
    """`chain_hash`'s canonical JSON, byte for byte, around an already canonical payload text.

    Keys in sorted order, as `canonical_json` sorts them; the payload is spliced in instead of
    being parsed and encoded again (the bulk of the cost of appending and verifying).
    `tests/store/test_chain_text.py` proves it equal to `canonical_json` over many events.
    `legacy`: the text of events older than the audit key, which left `tool` out.
    """
    if type(seq) is not int:  # bool or anything else would encode differently
        raise TypeError(f"seq must be an int, got {type(seq).__name__}")
    return "".join(
        (
            '{"actor_id":',
            _text(actor_id),
            ',"actor_name":',
            _text(actor_name),
            ',"at":',
            _text(at),
            ',"call_id":',
            _text(call_id),
            ',"conversation_id":',
            _text(conversation_id),
            ',"kind":',
            _text(kind),
            ',"payload":',
            payload_text,
            ',"prev_hash":',
            _text(prev_hash),
            ',"run_id":',
            _text(run_id),
            ',"seq":',
            int.__repr__(seq),
            # "tool" sorts last, so the legacy text is this one without its final field.
            "}" if legacy else ',"tool":' + _text(tool) + "}",
        )
    )


COLUMNS = (
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
"""Every column of `audit_log`, in the order rows are written and read (also `audit_verify`)."""
_INSERT = {
    "sqlite": (
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, kind, conversation_id, run_id, "
        "call_id, tool, payload, prev_hash, hash, mac) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "postgresql": (
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, kind, conversation_id, run_id, "
        "call_id, tool, payload, prev_hash, hash, mac) VALUES (%(seq)s, %(at)s, %(actor_id)s, "
        "%(actor_name)s, %(kind)s, %(conversation_id)s, %(run_id)s, %(call_id)s, %(tool)s, "
        "%(payload)s, %(prev_hash)s, %(hash)s, %(mac)s)"
    ),
}


def stored_at(at: datetime, backend: db.Backend) -> datetime | str:
    # SQLite: the exact text SQLAlchemy's DateTime stores (naive UTC), so reads parse it back.
    if backend == "sqlite":
        return at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return at


def stored_tool(payload: Mapping[str, Any]) -> str | None:
    """The `tool` column of an event with this payload."""
    tool = payload.get("tool")
    return tool if isinstance(tool, str) else None


def append_many(
    sql: DriverSql, backend: db.Backend, events: Sequence[NewAuditEvent], key: bytes
) -> list[AuditEvent]:
    """Append `events` in order inside the caller's write transaction, keyed with `key`.

    Refuses (`StoreError`) when the signed head does not match the table's last event.
    Synchronous so that SQLite runs a whole append in one hop to a worker thread (see
    `sqlite_audit`); PostgreSQL calls it through `AsyncConnection.run_sync`.
    """
    if backend == "postgresql":
        sql.rows(f"SELECT pg_advisory_xact_lock({db.AUDIT_LOCK_KEY})")
    state = audit_head.read(sql)
    trouble = audit_head.problem(state, key)
    if trouble is not None or state.head is None:
        reason = trouble.reason if trouble is not None else "no head record"
        raise StoreError(f"audit append refused: {reason}; see `opsgate audit verify`")
    seq, prev_hash = state.tail_seq, state.tail_hash
    appended: list[AuditEvent] = []
    rows: list[Any] = []
    for new in events:
        seq += 1
        payload, payload_text = normalise_payload(new.payload)
        at = datetime.now(UTC)
        tool = stored_tool(payload)
        digest = sha256_hex(
            chain_text(
                seq=seq,
                at=at.isoformat(),
                actor_id=new.actor_id,
                actor_name=new.actor_name,
                kind=new.kind,
                conversation_id=new.conversation_id,
                run_id=new.run_id,
                call_id=new.call_id,
                tool=tool,
                payload_text=payload_text,
                prev_hash=prev_hash,
            )
        )
        mac = event_mac(key, digest)
        values = (
            seq,
            stored_at(at, backend),
            new.actor_id,
            new.actor_name,
            new.kind,
            new.conversation_id,
            new.run_id,
            new.call_id,
            tool,
            payload_text,
            prev_hash,
            digest,
            mac,
        )
        rows.append(values if backend == "sqlite" else dict(zip(COLUMNS, values, strict=True)))
        appended.append(
            AuditEvent(
                seq=seq,
                at=at,
                actor_id=new.actor_id,
                actor_name=new.actor_name,
                kind=new.kind,
                conversation_id=new.conversation_id,
                run_id=new.run_id,
                call_id=new.call_id,
                tool=tool,
                payload=payload,
                prev_hash=prev_hash,
                hash=digest,
                mac=mac,
            )
        )
        prev_hash = digest
    if rows:
        sql.execute_many(_INSERT[backend], rows)
        audit_head.move(
            sql, backend, key, seq=seq, hash=prev_hash, keyed_from=state.head.keyed_from
        )
    return appended


def _conditions(flt: AuditFilter | None) -> list[ColumnElement[bool]]:
    if flt is None:
        return []
    conds: list[ColumnElement[bool]] = []
    if flt.actor_name is not None:
        conds.append(T.c.actor_name == flt.actor_name)
    if flt.kind is not None:
        if flt.kind.endswith(("*", ".")):
            prefix = flt.kind.rstrip("*")
            escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conds.append(T.c.kind.like(f"{escaped}%", escape="\\"))
        else:
            conds.append(T.c.kind == flt.kind)
    if flt.tool is not None:
        conds.append(T.c.tool == flt.tool)
    if flt.conversation_id is not None:
        conds.append(T.c.conversation_id == flt.conversation_id)
    if flt.run_id is not None:
        conds.append(T.c.run_id == flt.run_id)
    if flt.since is not None:
        conds.append(T.c.at >= flt.since)
    if flt.until is not None:
        conds.append(T.c.at < flt.until)
    return conds


def event_from_row(row: Sequence[Any]) -> AuditEvent:
    """The event in a row of `COLUMNS` (read through SQLAlchemy, or as the driver's text)."""
    values = dict(zip(COLUMNS, row, strict=True))
    values["at"] = utc_at(values["at"])
    values["payload"] = json.loads(values["payload"])
    return AuditEvent.model_validate(values)


def utc_at(value: datetime | str) -> datetime:
    """An event's time as stored: SQLite's driver hands back its text (naive UTC)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)


SELECTED = tuple(T.c[name] for name in COLUMNS)


def list_events(
    conn: Connection, flt: AuditFilter | None, *, limit: int, after_seq: int
) -> list[AuditEvent]:
    """Events matching `flt` with seq > `after_seq`, oldest first (in the caller's thread)."""
    stmt = (
        select(*SELECTED)
        .where(and_(T.c.seq > after_seq, *_conditions(flt)))
        .order_by(T.c.seq)
        .limit(limit)
    )
    return [event_from_row(row) for row in conn.execute(stmt).all()]
