"""The audit log on SQL: hash-chained appends under a database lock, filtered reads, verify.

`SqlStore` delegates its audit methods here. Appends take the database-wide write lock
(SQLite `BEGIN IMMEDIATE`; PostgreSQL `pg_advisory_xact_lock`) before reading the last hash,
so appends from any number of processes extend one chain. Nothing here updates or deletes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from json.encoder import encode_basestring
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Connection, Row, and_, select

from opsgate.domain.audit import GENESIS_HASH, AuditEvent, chain_hash
from opsgate.domain.canonical import canonical_json, sha256_hex
from opsgate.errors import InvalidInput
from opsgate.store import db, tables
from opsgate.store.records import AuditFilter, ChainVerification, NewAuditEvent

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
    payload_text: str,
    prev_hash: str,
) -> str:
    """`chain_hash`'s canonical JSON, byte for byte, around an already canonical payload text.

    Keys in sorted order, as `canonical_json` sorts them; the payload is spliced in instead of
    being parsed and encoded again (the bulk of the cost of appending and verifying).
    `tests/store/test_chain_text.py` proves it equal to `canonical_json` over many events.
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
            "}",
        )
    )


_FIELDS = (
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
)
# Driver-level SQL: appends are the hot path, and building SQLAlchemy statements per call
# costs more than the database work itself.
_LAST_LINK = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
_INSERT = {
    "sqlite": (
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, kind, conversation_id, run_id, "
        "call_id, tool, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    "postgresql": (
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, kind, conversation_id, run_id, "
        "call_id, tool, payload, prev_hash, hash) VALUES (%(seq)s, %(at)s, %(actor_id)s, "
        "%(actor_name)s, %(kind)s, %(conversation_id)s, %(run_id)s, %(call_id)s, %(tool)s, "
        "%(payload)s, %(prev_hash)s, %(hash)s)"
    ),
}


class DriverSql(Protocol):
    """Driver-level statements inside one open transaction (SQLAlchemy or plain sqlite3)."""

    def rows(self, statement: str) -> Sequence[Sequence[Any]]: ...
    def insert(self, statement: str, rows: list[Any]) -> None: ...


@dataclass(frozen=True)
class SaDriverSql:
    """`DriverSql` over a SQLAlchemy connection (PostgreSQL appends, verification)."""

    conn: Connection

    def rows(self, statement: str) -> Sequence[Sequence[Any]]:
        result = self.conn.exec_driver_sql(statement)
        return result.all() if result.returns_rows else []

    def insert(self, statement: str, rows: list[Any]) -> None:
        self.conn.exec_driver_sql(statement, rows[0] if len(rows) == 1 else rows)


def _last_link(sql: DriverSql, backend: db.Backend) -> tuple[int, str]:
    if backend == "postgresql":
        sql.rows(f"SELECT pg_advisory_xact_lock({db.AUDIT_LOCK_KEY})")
    found = sql.rows(_LAST_LINK)
    return (0, GENESIS_HASH) if not found else (int(found[0][0]), str(found[0][1]))


def _bind_at(at: datetime, backend: db.Backend) -> datetime | str:
    # SQLite: the exact text SQLAlchemy's DateTime stores (naive UTC), so reads parse it back.
    if backend == "sqlite":
        return at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return at


def append_many(
    sql: DriverSql, backend: db.Backend, events: Sequence[NewAuditEvent]
) -> list[AuditEvent]:
    """Append `events` in order inside the caller's write transaction (holding the lock).

    Synchronous so that SQLite runs a whole append in one hop to a worker thread (see
    `sqlite_audit`); PostgreSQL calls it through `AsyncConnection.run_sync`.
    """
    seq, prev_hash = _last_link(sql, backend)
    appended: list[AuditEvent] = []
    rows: list[Any] = []
    for new in events:
        seq += 1
        payload, payload_text = normalise_payload(new.payload)
        at = datetime.now(UTC)
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
                payload_text=payload_text,
                prev_hash=prev_hash,
            )
        )
        tool = payload.get("tool")
        values = (
            seq,
            _bind_at(at, backend),
            new.actor_id,
            new.actor_name,
            new.kind,
            new.conversation_id,
            new.run_id,
            new.call_id,
            tool if isinstance(tool, str) else None,
            payload_text,
            prev_hash,
            digest,
        )
        rows.append(values if backend == "sqlite" else dict(zip(_FIELDS, values, strict=True)))
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
                payload=payload,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    if rows:
        sql.insert(_INSERT[backend], rows)
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


def _event(row: Row[Any, *tuple[Any, ...]]) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        at=row.at,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        kind=row.kind,
        conversation_id=row.conversation_id,
        run_id=row.run_id,
        call_id=row.call_id,
        payload=json.loads(row.payload),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


_COLUMNS = (
    T.c.seq,
    T.c.at,
    T.c.actor_id,
    T.c.actor_name,
    T.c.kind,
    T.c.conversation_id,
    T.c.run_id,
    T.c.call_id,
    T.c.payload,
    T.c.prev_hash,
    T.c.hash,
)


def list_events(
    conn: Connection, flt: AuditFilter | None, *, limit: int, after_seq: int
) -> list[AuditEvent]:
    """Events matching `flt` with seq > `after_seq`, oldest first (in the caller's thread)."""
    stmt = (
        select(*_COLUMNS)
        .where(and_(T.c.seq > after_seq, *_conditions(flt)))
        .order_by(T.c.seq)
        .limit(limit)
    )
    return [_event(row) for row in conn.execute(stmt).all()]


_VERIFY_PAGE = (
    "SELECT seq, at, actor_id, actor_name, kind, conversation_id, run_id, call_id, payload, "
    "prev_hash, hash FROM audit_log WHERE seq >= {mark} ORDER BY seq LIMIT {limit}"
)


def verify_chain(sql: DriverSql, batch: int = BATCH) -> ChainVerification:
    """Recompute the chain page by page in one read transaction; report the first break.

    Synchronous and on driver-level rows because it touches every event: SQLite runs it in a
    worker thread (`sqlite_audit`), PostgreSQL through `AsyncConnection.run_sync`.
    """
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    while True:
        statement = _VERIFY_PAGE.format(mark=int(expected_seq), limit=int(batch))
        rows = sql.rows(statement)
        for row in rows:
            reason = _broken_link(row, expected_seq, prev_hash)
            if reason is not None:
                return ChainVerification(
                    ok=False, checked=checked, first_broken_seq=expected_seq, reason=reason
                )
            checked += 1
            expected_seq, prev_hash = row[0] + 1, row[10]
        if len(rows) < batch:
            return ChainVerification(ok=True, checked=checked)


def _broken_link(row: Sequence[Any], expected_seq: int, prev_hash: str) -> str | None:
    seq, at, actor_id, actor_name, kind, conversation_id, run_id, call_id = row[:8]
    payload_text, stored_prev, stored_hash = row[8:]
    if seq != expected_seq:
        return f"event {expected_seq} is missing (next is {seq})"
    if stored_prev != prev_hash:
        return "prev_hash does not match the previous event's hash"
    if _stored_text_hashes(row):
        return None
    # Not the exact text that was hashed: decide on the parsed payload, as `chain_hash` does.
    try:
        payload = json.loads(payload_text)
    except ValueError:
        return "payload is not valid JSON"
    recomputed = chain_hash(
        seq=seq,
        at=_utc(at),
        actor_id=actor_id,
        actor_name=actor_name,
        kind=kind,
        conversation_id=conversation_id,
        run_id=run_id,
        call_id=call_id,
        payload=payload,
        prev_hash=stored_prev,
    )
    if recomputed != stored_hash:
        return "hash does not match the event's contents"
    return None


def _stored_text_hashes(row: Sequence[Any]) -> bool:
    """Whether the hash matches with the payload text as stored (the canonical text appended).

    A match means the stored text is the very text that was hashed (short of a SHA-256
    collision), so parsing and re-encoding it would only reach the same verdict, slower.
    """
    seq, at, actor_id, actor_name, kind, conversation_id, run_id, call_id = row[:8]
    payload_text, stored_prev, stored_hash = row[8:]
    try:
        text = chain_text(
            seq=seq,
            at=_utc(at).isoformat(),
            actor_id=actor_id,
            actor_name=actor_name,
            kind=kind,
            conversation_id=conversation_id,
            run_id=run_id,
            call_id=call_id,
            payload_text=payload_text,
            prev_hash=stored_prev,
        )
    except (TypeError, ValueError):
        return False
    return bool(sha256_hex(text) == stored_hash)


def _utc(value: datetime | str) -> datetime:
    # SQLite hands back the stored text (naive UTC); PostgreSQL an aware datetime.
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC)
