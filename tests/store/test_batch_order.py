"""`write_batch`'s stream events: one INSERT per batch, ids consecutive in the order given."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from opsgate.store.records import NewMessage, NewRecord, NewStreamEvent, StreamEvent
from opsgate.store.sql import SqlStore


async def _conversation(store: SqlStore, name: str) -> tuple[str, str]:
    user = await store.create_user(name, "operator", None)
    conversation = await store.create_conversation("t", user.id, ["prod"])
    run = await store.create_run(conversation.id, "chat", user.id)
    return conversation.id, run.id


def _tokens(conversation_id: str, run_id: str, n: int, tag: str) -> list[NewRecord]:
    return [
        NewStreamEvent(conversation_id, run_id, "token", {"i": i, "tag": tag}) for i in range(n)
    ]


def _write_engine(store: SqlStore) -> Engine:
    # The engine write_batch runs on: SQLite's synchronous writer, else the async one's core.
    engines = store._engines
    return engines.sync_write if engines.sync_write is not None else engines.write.sync_engine


@contextmanager
def _statements(store: SqlStore) -> Iterator[list[str]]:
    """The SQL statements the store sends to the database for writes meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    engine = _write_engine(store)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _consecutive(events: list[StreamEvent]) -> bool:
    return [e.id for e in events] == list(range(events[0].id, events[0].id + len(events)))


async def test_a_batch_of_events_is_one_insert_with_consecutive_ids_in_order(
    store: SqlStore,
) -> None:
    conversation_id, run_id = await _conversation(store, "bea")
    await store.write_batch(_tokens(conversation_id, run_id, 3, "before"))

    with _statements(store) as seen:
        stored = await store.write_batch(_tokens(conversation_id, run_id, 200, "batch"))

    assert [e.data["i"] for e in stored] == list(range(200))
    assert _consecutive(stored)
    assert len([s for s in seen if s.startswith("INSERT INTO stream_events")]) == 1
    # What a reader gets back from the table, by id, is the same events in the same order.
    assert await store.events_after(conversation_id, stored[0].id - 1) == stored


async def test_concurrent_batches_each_keep_their_events_consecutive(store: SqlStore) -> None:
    one, run_one = await _conversation(store, "bea")
    two, run_two = await _conversation(store, "cy")
    # Two conversations interleaved in one batch, and several batches written at once.
    mixed: list[NewRecord] = []
    for i in range(50):
        mixed.append(NewStreamEvent(one, run_one, "token", {"i": i, "tag": "mixed"}))
        mixed.append(NewStreamEvent(two, run_two, "token", {"i": i, "tag": "mixed"}))

    results = await asyncio.gather(
        store.write_batch(mixed),
        *(store.write_batch(_tokens(one, run_one, 40, f"b{n}")) for n in range(4)),
    )

    for stored in results:
        assert _consecutive(stored)
    assert [(e.conversation_id, e.data["i"]) for e in results[0]] == [
        (c, i) for i in range(50) for c in (one, two)
    ]
    everything = await store.events_after(one, 0) + await store.events_after(two, 0)
    by_id = {e.id: e for e in everything}
    for stored in results:
        assert [by_id[e.id] for e in stored] == stored


async def test_a_batch_touches_its_conversation_once_however_many_messages(
    store: SqlStore,
) -> None:
    conversation_id, run_id = await _conversation(store, "bea")
    before = (await store.get_conversation(conversation_id)).updated_at
    messages: list[NewRecord] = [
        NewMessage(conversation_id, "tool", f"output {n}", run_id) for n in range(5)
    ]

    with _statements(store) as seen:
        await store.write_batch(messages + _tokens(conversation_id, run_id, 5, "m"))

    assert len([s for s in seen if s.startswith("UPDATE conversations")]) == 1
    assert (await store.get_conversation(conversation_id)).updated_at > before
