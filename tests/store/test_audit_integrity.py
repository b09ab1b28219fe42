"""The attacks on the audit log from issue 24, each found or refused (SQLite and PostgreSQL).

Every test edits the database behind the store's back (`raw_sql`), as someone with SQL access
but without the audit key would: cut off the tail, rewrite events with recomputed hashes,
replace rows through conflict paths, edit the `tool` column, prepend duplicate JSON keys,
append forged events, and move or edit the signed head record.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from opsgate.domain.audit import GENESIS_HASH, AuditEvent, chain_hash
from opsgate.domain.canonical import canonical_json
from opsgate.errors import ConfigError, StoreError
from opsgate.store import sql
from opsgate.store.sql import SqlStore
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY, RawSql


async def _fill(store: SqlStore, count: int) -> list[AuditEvent]:
    for i in range(count):
        await store.append_audit(
            "tool.finished",
            {"tool": "k8s_get", "n": i, "exit_code": 0},
            actor_id=None,
            actor_name="engine",
            run_id="run_1",
        )
    return await store.list_audit(limit=count)


async def _drop_audit_triggers(store: SqlStore, raw_sql: RawSql) -> None:
    """What an attacker with schema rights does first."""
    if store.backend == "postgresql":
        await raw_sql("DROP TRIGGER audit_log_append_only ON audit_log")
        return
    for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_log_no_replace"):
        await raw_sql(f"DROP TRIGGER {trigger}")


async def _drop_head_triggers(store: SqlStore, raw_sql: RawSql) -> None:
    if store.backend == "postgresql":
        await raw_sql("DROP TRIGGER audit_head_guard ON audit_head")
        return
    for trigger in ("audit_head_only_forward", "audit_head_no_delete", "audit_head_one_row"):
        await raw_sql(f"DROP TRIGGER {trigger}")


def _recomputed_hash(event: AuditEvent, payload: dict[str, object], prev_hash: str) -> str:
    """The SHA-256 an attacker computes for an edited event (the format is public)."""
    return chain_hash(
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor_name=event.actor_name,
        kind=event.kind,
        conversation_id=event.conversation_id,
        run_id=event.run_id,
        call_id=event.call_id,
        tool=event.tool,
        payload=payload,
        prev_hash=prev_hash,
    )


def _stored_at(store: SqlStore, at: datetime) -> datetime | str:
    """A time as the store writes it (SQLite: its naive UTC text)."""
    if store.backend == "sqlite":
        return at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return at


@pytest.mark.parametrize("lost", [1, 5, 20])
async def test_cutting_off_the_tail_is_reported_as_the_missing_range(
    store_url: str, store: SqlStore, raw_sql: RawSql, lost: int
) -> None:
    events = await _fill(store, 30)
    await _drop_audit_triggers(store, raw_sql)
    await raw_sql("DELETE FROM audit_log WHERE seq > :keep", keep=30 - lost)

    verification = await store.verify_audit()

    assert not verification.ok
    assert verification.missing_range == (31 - lost, 30)
    assert verification.first_broken_seq == 31 - lost
    assert verification.checked == 30 - lost
    assert (verification.head_seq, verification.head_hash) == (30, events[-1].hash)
    assert f"events {31 - lost}..30 are missing" in (verification.reason or "")
    with pytest.raises(StoreError, match=f"events {31 - lost}..30 are missing"):
        await store.append_audit("verify", {}, actor_id=None, actor_name="engine")
    with pytest.raises(StoreError, match="does not match its signed head record"):
        await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    reopened = await sql.open_store(
        store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY, check_audit_head=False
    )
    try:
        assert (await reopened.verify_audit()).missing_range == (31 - lost, 30)
    finally:
        await reopened.close()


async def test_a_gap_in_the_middle_is_named_too(store: SqlStore, raw_sql: RawSql) -> None:
    await _fill(store, 10)
    await _drop_audit_triggers(store, raw_sql)
    await raw_sql("DELETE FROM audit_log WHERE seq IN (4, 5)")
    verification = await store.verify_audit()
    assert (verification.ok, verification.first_broken_seq) == (False, 4)
    assert (verification.missing_range, verification.checked) == ((4, 5), 3)


async def test_rewriting_the_last_event_with_a_recomputed_hash_is_found(
    store: SqlStore, raw_sql: RawSql
) -> None:
    events = await _fill(store, 5)
    await _drop_audit_triggers(store, raw_sql)
    payload = {"tool": "k8s_get", "n": 4, "exit_code": 1}
    digest = _recomputed_hash(events[-1], payload, events[-2].hash)
    await raw_sql(
        "UPDATE audit_log SET payload = :payload, hash = :hash WHERE seq = 5",
        payload=canonical_json(payload),
        hash=digest,
    )
    verification = await store.verify_audit()
    assert (verification.ok, verification.first_broken_seq) == (False, 5)
    assert "HMAC does not verify" in (verification.reason or "")


async def test_rewriting_the_whole_chain_without_the_key_is_found_at_the_first_event(
    store: SqlStore, raw_sql: RawSql
) -> None:
    events = await _fill(store, 4)
    await _drop_audit_triggers(store, raw_sql)
    prev_hash = GENESIS_HASH
    for event in events:
        payload = {**event.payload, "exit_code": 2}
        digest = _recomputed_hash(event, payload, prev_hash)
        await raw_sql(
            "UPDATE audit_log SET payload = :payload, prev_hash = :prev, hash = :hash "
            "WHERE seq = :seq",
            payload=canonical_json(payload),
            prev=prev_hash,
            hash=digest,
            seq=event.seq,
        )
        prev_hash = digest
    verification = await store.verify_audit()
    assert (verification.ok, verification.first_broken_seq) == (False, 1)


_ROW = (
    "audit_log (seq, at, actor_name, kind, payload, prev_hash, hash) "
    "VALUES (2, :at, 'mallory', 'request', '{}', :hash, :hash)"
)
_UPSERT = f"INSERT INTO {_ROW} ON CONFLICT (seq) DO UPDATE SET actor_name = excluded.actor_name"
_REPLACES = {
    "postgresql": [_UPSERT],
    "sqlite": [f"INSERT OR REPLACE INTO {_ROW}", f"REPLACE INTO {_ROW}", _UPSERT],
}


async def test_conflict_replace_paths_are_refused(store: SqlStore, raw_sql: RawSql) -> None:
    events = await _fill(store, 3)
    for statement in _REPLACES[store.backend]:
        with pytest.raises(Exception, match="append-only"):
            await raw_sql(statement, at=_stored_at(store, events[1].at), hash=GENESIS_HASH)
    assert await store.list_audit() == events
    assert (await store.verify_audit()).ok


async def test_editing_the_tool_column_is_found(store: SqlStore, raw_sql: RawSql) -> None:
    await _fill(store, 3)
    await _drop_audit_triggers(store, raw_sql)
    await raw_sql("UPDATE audit_log SET tool = 'helm_uninstall' WHERE seq = 2")
    verification = await store.verify_audit()
    assert (verification.ok, verification.first_broken_seq) == (False, 2)


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (
            "UPDATE audit_log SET payload = '{\"exit_code\":1,' || substr(payload, 2) "
            "WHERE seq = 2",
            "duplicate key 'exit_code'",
        ),
        ("UPDATE audit_log SET payload = replace(payload, ',', ', ') WHERE seq = 2", "canonical"),
    ],
)
async def test_a_payload_with_a_duplicate_key_or_other_text_is_refused(
    store: SqlStore, raw_sql: RawSql, statement: str, reason: str
) -> None:
    await _fill(store, 3)
    await _drop_audit_triggers(store, raw_sql)
    await raw_sql(statement)
    verification = await store.verify_audit()
    assert (verification.ok, verification.first_broken_seq) == (False, 2)
    assert reason in (verification.reason or "")


async def test_an_event_appended_behind_the_stores_back_is_found(
    store_url: str, store: SqlStore, raw_sql: RawSql
) -> None:
    events = await _fill(store, 3)
    forged = events[-1].model_copy(update={"seq": 4, "actor_name": "mallory"})
    digest = _recomputed_hash(forged, forged.payload, events[-1].hash)
    await raw_sql(
        "INSERT INTO audit_log (seq, at, actor_name, kind, run_id, tool, payload, prev_hash, "
        "hash, mac) VALUES (4, :at, 'mallory', 'tool.finished', 'run_1', 'k8s_get', :payload, "
        ":prev, :hash, :mac)",
        at=_stored_at(store, forged.at),
        payload=canonical_json(forged.payload),
        prev=events[-1].hash,
        hash=digest,
        mac="0" * 64,
    )
    verification = await store.verify_audit()
    assert (verification.ok, verification.first_broken_seq) == (False, 4)
    assert "HMAC does not verify" in (verification.reason or "")
    with pytest.raises(StoreError, match="follow the signed head record"):
        await store.append_audit("verify", {}, actor_id=None, actor_name="engine")
    with pytest.raises(StoreError, match="follow the signed head record"):
        await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)


async def test_verify_reports_the_head_it_checked(store: SqlStore) -> None:
    empty = await store.verify_audit()
    assert (empty.ok, empty.checked, empty.head_seq, empty.head_hash) == (
        True,
        0,
        0,
        GENESIS_HASH,
    )
    events = await _fill(store, 3)
    verification = await store.verify_audit()
    assert (verification.ok, verification.keyed, verification.unkeyed_range) == (True, True, None)
    assert (verification.head_seq, verification.head_hash) == (3, events[-1].hash)


async def test_the_head_table_only_moves_forward(store: SqlStore, raw_sql: RawSql) -> None:
    events = await _fill(store, 3)
    [(signature,)] = await raw_sql("SELECT signature FROM audit_head")
    older = "audit_head (id, keyed_from, seq, hash, signature) VALUES (1, 1, 2, :hash, :sig)"
    refused = [
        "DELETE FROM audit_head",
        f"INSERT INTO {older}",
        "UPDATE audit_head SET seq = 2, hash = :hash",
        "UPDATE audit_head SET keyed_from = 3",
        "UPDATE audit_head SET id = 2",
        "TRUNCATE audit_head"
        if store.backend == "postgresql"
        else f"INSERT OR REPLACE INTO {older}",
    ]
    for statement in refused:
        with pytest.raises(Exception, match="audit_head only moves forward"):
            await raw_sql(statement, hash=events[1].hash, sig=signature)
    assert (await store.verify_audit()).ok
    # Forward is the append path; without the key, the signature then gives it away.
    await raw_sql("UPDATE audit_head SET seq = 4, hash = :hash", hash=events[2].hash)
    moved = await store.verify_audit()
    assert (moved.ok, moved.head_seq) == (False, 4)
    assert "signature does not verify" in (moved.reason or "")


async def test_a_head_moved_back_or_edited_without_the_key_is_found(
    store_url: str, store: SqlStore, raw_sql: RawSql
) -> None:
    events = await _fill(store, 4)
    await _drop_audit_triggers(store, raw_sql)
    await _drop_head_triggers(store, raw_sql)
    await raw_sql("DELETE FROM audit_log WHERE seq = 4")
    await raw_sql("UPDATE audit_head SET seq = 3, hash = :hash", hash=events[2].hash)
    verification = await store.verify_audit()
    assert not verification.ok
    assert "signature does not verify" in (verification.reason or "")
    with pytest.raises(StoreError, match="signature does not verify"):
        await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    await raw_sql("DELETE FROM audit_head")
    missing = await store.verify_audit()
    assert (missing.ok, missing.head_seq) == (False, None)
    assert "head record is missing" in (missing.reason or "")


async def test_a_store_opened_with_another_audit_key_is_refused(
    store_url: str, store: SqlStore
) -> None:
    await _fill(store, 2)
    with pytest.raises(StoreError, match="signature does not verify"):
        await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=b"k" * 40)


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 31])
async def test_an_audit_key_shorter_than_32_bytes_is_refused(store_url: str, key: bytes) -> None:
    with pytest.raises(ConfigError, match="audit_key must be at least 32 bytes"):
        await sql.open_store(store_url, secret_key=SECRET_KEY, audit_key=key)


async def test_a_decision_payload_reads_back_unchanged(store: SqlStore) -> None:
    """The stored text is the canonical text: what verification hashes is what readers see."""
    event = await store.append_audit(
        "approval.granted",
        {"approval_id": "apr_1", "call_id": "c", "reason": "ok ✓", "tool": "k8s_scale"},
        actor_id="usr_1",
        actor_name="alice",
        call_id="c",
    )
    (listed,) = await store.list_audit()
    assert listed == event
    assert listed.tool == "k8s_scale"
    assert json.loads(canonical_json(listed.payload)) == event.payload


async def test_an_edited_time_is_found_even_when_it_names_the_same_instant(
    store: SqlStore, raw_sql: RawSql
) -> None:
    await _fill(store, 3)
    await _drop_audit_triggers(store, raw_sql)
    if store.backend == "sqlite":  # the same instant, spelt otherwise: filters compare text
        await raw_sql("UPDATE audit_log SET at = replace(at, ' ', 'T') WHERE seq = 2")
        reason = "not in its canonical form"
    else:
        await raw_sql("UPDATE audit_log SET at = at + interval '1 microsecond' WHERE seq = 2")
        reason = "hash does not match"
    verification = await store.verify_audit()
    assert (verification.ok, verification.first_broken_seq) == (False, 2)
    assert reason in (verification.reason or "")
