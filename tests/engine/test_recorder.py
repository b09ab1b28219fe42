"""The recorder: queued records are written in order, published after they are stored, and
one bad record loses nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from opsgate.domain import audit_payloads as audit
from opsgate.domain import events as ev
from opsgate.engine.bus import EventBus
from opsgate.engine.recorder import Recorder
from opsgate.errors import NotFound, StoreError
from opsgate.store import sql
from opsgate.store.records import NewMessage, NewRecord, StreamEvent
from tests.fixtures.postgres import AUDIT_KEY

SECRET = b"recorder-test-secret-0123456789"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[sql.SqlStore]:
    opened = await sql.open_store(
        f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", secret_key=SECRET, audit_key=AUDIT_KEY
    )
    yield opened
    await opened.close()


async def _conversation(store: sql.SqlStore) -> tuple[str, str]:
    user = await store.create_user("rita", "operator", None)
    conversation = await store.create_conversation("t", user.id, ["dev"])
    run = await store.create_run(conversation.id, "chat", user.id)
    return conversation.id, run.id


async def test_records_are_stored_in_order_then_published(store: sql.SqlStore) -> None:
    conversation_id, run_id = await _conversation(store)
    bus = EventBus()
    recorder = Recorder(store, bus, batch_max=3)
    subscription = bus.subscribe(conversation_id)

    for n in range(7):
        recorder.emit(conversation_id, ev.Token(run_id=run_id, text=f"t{n}"))
    recorder.audit(audit.Request(text="hi"), conversation_id=conversation_id, run_id=run_id)
    await recorder.flush()

    stored = await store.events_after(conversation_id, 0)
    assert [e.data["text"] for e in stored] == [f"t{n}" for n in range(7)]
    subscription.close()
    assert [event async for event in subscription] == stored
    assert [a.kind for a in await store.list_audit()] == ["request"]


async def test_a_bad_record_loses_nothing_else_and_its_error_is_raised_once(
    store: sql.SqlStore,
) -> None:
    conversation_id, run_id = await _conversation(store)
    recorder = Recorder(store, EventBus())

    recorder.emit(conversation_id, ev.Token(run_id=run_id, text="before"))
    recorder.message(NewMessage("cnv_missing", "tool", "lost: no such conversation"))
    recorder.emit(conversation_id, ev.Token(run_id=run_id, text="after"))
    with pytest.raises(NotFound, match="cnv_missing"):
        await recorder.flush()
    await recorder.flush()  # reported once

    texts = [e.data["text"] for e in await store.events_after(conversation_id, 0)]
    assert texts == ["before", "after"]


class HeldStore:
    """The real store, with `write_batch` held until the test lets it go."""

    def __init__(self, store: sql.SqlStore) -> None:
        self.store = store
        self.open = asyncio.Event()

    async def write_batch(self, records: Sequence[NewRecord]) -> list[StreamEvent]:
        await self.open.wait()
        return await self.store.write_batch(records)


async def test_keep_up_waits_for_the_writer_only_when_it_is_behind(store: sql.SqlStore) -> None:
    conversation_id, run_id = await _conversation(store)
    held = HeldStore(store)
    recorder = Recorder(held, EventBus(), backlog=3)  # type: ignore[arg-type]

    recorder.emit(conversation_id, ev.Token(run_id=run_id, text="one"))
    await asyncio.wait_for(recorder.keep_up(), 5)  # one queued, writer stuck: no wait

    for n in range(5):
        recorder.emit(conversation_id, ev.Token(run_id=run_id, text=f"n{n}"))
    waiting = asyncio.ensure_future(recorder.keep_up())
    done, _ = await asyncio.wait([waiting], timeout=0.2)
    assert not done, "six records behind: keep_up must wait for the writer"
    held.open.set()
    await asyncio.wait_for(waiting, 5)
    assert len(await store.events_after(conversation_id, 0)) == 6


class PickyStore:
    """The real store, except that it cannot write a message (a bug in the making)."""

    def __init__(self, store: sql.SqlStore) -> None:
        self.store = store

    async def write_batch(self, records: Sequence[NewRecord]) -> list[StreamEvent]:
        if any(isinstance(r, NewMessage) for r in records):
            raise TypeError("secret-looking value 'hunter2' is not serialisable")
        return await self.store.write_batch(records)


async def test_an_unexpected_failure_neither_hangs_nor_leaks_its_text(store: sql.SqlStore) -> None:
    conversation_id, run_id = await _conversation(store)
    recorder = Recorder(PickyStore(store), EventBus())  # type: ignore[arg-type]

    recorder.emit(conversation_id, ev.Token(run_id=run_id, text="kept"))
    recorder.message(NewMessage(conversation_id, "tool", "cannot be written", run_id))
    with pytest.raises(StoreError) as raised:
        await asyncio.wait_for(recorder.flush(), 5)

    assert "TypeError" in str(raised.value)
    assert "hunter2" not in str(raised.value)
    assert [e.data["text"] for e in await store.events_after(conversation_id, 0)] == ["kept"]
