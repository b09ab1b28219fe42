"""The audit log: chain, filters, append-only triggers, tamper detection, multi-process appends."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest

from opsgate.domain.audit import GENESIS_HASH, chain_hash, event_mac
from opsgate.errors import InvalidInput
from opsgate.store.records import AuditFilter, NewAuditEvent
from opsgate.store.sql import SqlStore
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY, RawSql
from tests.store import appender


async def _append_some(store: SqlStore, count: int) -> None:
    for i in range(count):
        await store.append_audit(
            "tool.finished" if i % 2 else "request",
            {"tool": "k8s_get", "n": i, "text": f"event {i}"},
            actor_id="usr_1",
            actor_name="alice" if i % 3 else "engine",
            conversation_id="cnv_a" if i < count // 2 else "cnv_b",
            run_id="run_1",
            call_id=f"call_{i}",
        )


async def test_appended_events_form_a_chain(store: SqlStore) -> None:
    at_before = datetime.now(UTC)
    first = await store.append_audit(
        "request", {"text": "scale web"}, actor_id="usr_1", actor_name="alice"
    )
    second = await store.append_audit(
        "plan",
        {"calls": [], "expires": at_before},
        actor_id=None,
        actor_name="engine",
        conversation_id="cnv_1",
    )
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert second.payload == {"calls": [], "expires": at_before.isoformat()}
    listed = await store.list_audit()
    assert listed == [first, second]
    stored = listed[1]
    assert stored.hash == chain_hash(
        seq=2,
        at=stored.at,
        actor_id=None,
        actor_name="engine",
        kind="plan",
        conversation_id="cnv_1",
        run_id=None,
        call_id=None,
        tool=None,
        payload=stored.payload,
        prev_hash=first.hash,
    )
    assert stored.mac == event_mac(AUDIT_KEY, stored.hash)
    assert await store.verify_audit() == await store.verify_audit()
    verification = await store.verify_audit()
    assert (verification.ok, verification.checked) == (True, 2)


async def test_payload_that_is_not_json_is_refused(store: SqlStore) -> None:
    with pytest.raises(InvalidInput, match="payload"):
        await store.append_audit("request", {"x": object()}, actor_id=None, actor_name="engine")
    assert await store.list_audit() == []


async def test_append_many_is_one_chain(store: SqlStore) -> None:
    await store.append_audit("request", {"text": "a"}, actor_id=None, actor_name="engine")
    events = await store.append_audit_many(
        [NewAuditEvent("verify", {"ok": True, "n": i}, None, "engine") for i in range(5)]
    )
    assert [e.seq for e in events] == [2, 3, 4, 5, 6]
    assert (await store.verify_audit()).checked == 6


async def test_list_audit_filters_and_pages(store: SqlStore) -> None:
    await _append_some(store, 10)
    assert len(await store.list_audit(limit=4)) == 4
    assert [e.seq for e in await store.list_audit(limit=3, after_seq=4)] == [5, 6, 7]
    by_actor = await store.list_audit(AuditFilter(actor_name="engine"))
    assert [e.seq for e in by_actor] == [1, 4, 7, 10]
    by_kind = await store.list_audit(AuditFilter(kind="tool.finished"))
    assert [e.seq for e in by_kind] == [2, 4, 6, 8, 10]
    by_prefix = await store.list_audit(AuditFilter(kind="tool."))
    assert by_prefix == by_kind
    assert await store.list_audit(AuditFilter(kind="tool*")) == by_kind
    assert len(await store.list_audit(AuditFilter(conversation_id="cnv_b"))) == 5
    assert len(await store.list_audit(AuditFilter(tool="k8s_get"))) == 10
    assert await store.list_audit(AuditFilter(tool="helm_install")) == []
    future = datetime.now(UTC) + timedelta(hours=1)
    assert await store.list_audit(AuditFilter(since=future)) == []
    assert len(await store.list_audit(AuditFilter(until=future))) == 10


async def test_iter_audit_streams_everything_in_order(store: SqlStore) -> None:
    await store.append_audit_many(
        [NewAuditEvent("verify", {"i": i}, None, "engine") for i in range(2500)]
    )
    seqs = [event.seq async for event in store.iter_audit()]
    assert seqs == list(range(1, 2501))


async def test_triggers_refuse_update_and_delete(store: SqlStore, raw_sql: RawSql) -> None:
    await _append_some(store, 3)
    with pytest.raises(Exception, match="append-only"):
        await raw_sql("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2")
    with pytest.raises(Exception, match="append-only"):
        await raw_sql("DELETE FROM audit_log WHERE seq = 3")
    assert [e.actor_name for e in await store.list_audit()] == ["engine", "alice", "alice"]
    assert (await store.verify_audit()).ok


def _drop_triggers(backend: str) -> list[str]:
    if backend == "postgresql":
        return ["DROP TRIGGER audit_log_append_only ON audit_log"]
    return ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"]


@pytest.mark.parametrize(
    ("tamper", "broken_seq"),
    [
        ("UPDATE audit_log SET payload = '{\"n\":99}' WHERE seq = 3", 3),
        ("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 5", 5),
        ("DELETE FROM audit_log WHERE seq = 4", 4),
        ("UPDATE audit_log SET prev_hash = hash WHERE seq = 2", 2),
    ],
)
async def test_tampering_is_found_at_the_right_seq(
    store: SqlStore, raw_sql: RawSql, tamper: str, broken_seq: int
) -> None:
    await _append_some(store, 6)
    for statement in _drop_triggers(store.backend):
        await raw_sql(statement)
    await raw_sql(tamper)
    verification = await store.verify_audit()
    assert not verification.ok
    assert verification.first_broken_seq == broken_seq
    assert verification.checked == broken_seq - 1
    assert verification.reason


@pytest.mark.slow
async def test_appends_from_several_processes_keep_one_chain(
    store_url: str, store: SqlStore
) -> None:
    workers, per_worker = 3, 60
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.store.appender"])
    start = context.Barrier(workers)
    processes = [
        context.Process(
            target=appender.append_events,
            args=(store_url, SECRET_KEY, AUDIT_KEY, w, per_worker, start),
        )
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        await asyncio.to_thread(process.join, 100)
    assert [p.exitcode for p in processes] == [0] * workers
    verification = await store.verify_audit()
    assert verification.ok, verification
    assert verification.checked == workers * per_worker
    events = [e async for e in store.iter_audit()]
    owners = [e.payload["worker"] for e in events]
    switches = sum(1 for a, b in itertools.pairwise(owners) if a != b)
    assert switches > workers - 1, "the workers never interleaved"
    for worker in range(workers):
        mine = [e.payload["i"] for e in events if e.payload["worker"] == worker]
        assert mine == list(range(per_worker))
