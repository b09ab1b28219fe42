"""Conversations, messages and runs on both databases."""

from __future__ import annotations

import pytest

from opsgate.errors import NotFound
from opsgate.store.records import NewMessage, NewStreamEvent
from opsgate.store.sql import SqlStore


async def test_conversation_round_trip_and_rename(store: SqlStore) -> None:
    user = await store.create_user("alice", "operator", None)
    conversation = await store.create_conversation(
        "Checkout down", user.id, ["prod", "stg"], "shop"
    )
    loaded = await store.get_conversation(conversation.id)
    assert loaded.contexts == ["prod", "stg"]
    assert loaded.namespace == "shop"
    renamed = await store.rename_conversation(conversation.id, "Checkout fixed")
    assert renamed.title == "Checkout fixed"
    assert renamed.updated_at >= conversation.updated_at
    with pytest.raises(NotFound):
        await store.rename_conversation("cnv_missing", "x")


async def test_list_conversations_newest_first_with_search(store: SqlStore) -> None:
    user = await store.create_user("alice", "operator", None)
    first = await store.create_conversation("Checkout 100% down", user.id, ["prod"])
    second = await store.create_conversation("Scale payments", user.id, ["prod"])
    assert [c.id for c in await store.list_conversations()] == [second.id, first.id]
    await store.write_batch([NewMessage(first.id, "user", "hello")])
    assert [c.id for c in await store.list_conversations()] == [first.id, second.id]
    assert [c.id for c in await store.list_conversations(query="checkout")] == [first.id]
    assert [c.id for c in await store.list_conversations(query="100%")] == [first.id]
    assert await store.list_conversations(query="_") == []
    assert [c.id for c in await store.list_conversations(limit=1, offset=1)] == [second.id]


async def test_messages_keep_order_and_data(store: SqlStore) -> None:
    user = await store.create_user("alice", "operator", None)
    conversation = await store.create_conversation("t", user.id, ["prod"])
    run = await store.create_run(conversation.id, "chat", user.id)
    texts = [f"message {i}" for i in range(5)]
    await store.write_batch(
        [NewMessage(conversation.id, "user", text, author_id=user.id) for text in texts]
    )
    await store.write_batch(
        [
            NewMessage(
                conversation.id, "assistant", "calling", run.id, data={"calls": [{"id": "c1"}]}
            )
        ]
    )
    messages = await store.list_messages(conversation.id)
    assert [m.text for m in messages] == [*texts, "calling"]
    assert messages[-1].data == {"calls": [{"id": "c1"}]}
    assert messages[-1].run_id == run.id
    await store.write_batch([NewMessage(conversation.id, "tool", "3 pods", run_id=run.id)])
    spoken = await store.list_messages(conversation.id, roles=("user", "assistant"))
    assert [m.text for m in spoken] == [*texts, "calling"]
    assert [m.text for m in await store.list_messages(conversation.id, roles=("tool",))] == [
        "3 pods"
    ]
    with pytest.raises(NotFound):
        await store.write_batch([NewMessage("cnv_missing", "user", "x")])


async def test_run_status_and_usage_counters(store: SqlStore) -> None:
    user = await store.create_user("alice", "operator", None)
    conversation = await store.create_conversation("t", user.id, ["prod"])
    run = await store.create_run(conversation.id, "direct", user.id)
    assert (run.status, run.finished_at) == ("running", None)
    waiting = await store.set_run_status(run.id, "awaiting_approval")
    assert waiting.finished_at is None
    await store.count_run_usage(run.id, model_turns=1, tool_calls=2)
    counted = await store.count_run_usage(run.id, model_turns=2, tool_calls=1)
    assert (counted.model_turns, counted.tool_calls) == (3, 3)
    done = await store.set_run_status(run.id, "failed", "tool limit")
    assert (done.status, done.reason) == ("failed", "tool limit")
    assert done.finished_at is not None
    assert [r.id for r in await store.list_runs(conversation.id)] == [run.id]
    with pytest.raises(NotFound):
        await store.get_run("run_missing")
    with pytest.raises(NotFound):
        await store.create_run("cnv_missing", "chat", user.id)


async def test_stream_events_increase_and_page(store: SqlStore) -> None:
    user = await store.create_user("alice", "operator", None)
    one = await store.create_conversation("one", user.id, ["prod"])
    two = await store.create_conversation("two", user.id, ["prod"])
    run_one = await store.create_run(one.id, "chat", user.id)
    run_two = await store.create_run(two.id, "chat", user.id)
    ids = []
    for i in range(6):
        conversation, run = (one, run_one) if i % 2 == 0 else (two, run_two)
        [event] = await store.write_batch(
            [NewStreamEvent(conversation.id, run.id, "token", {"i": i})]
        )
        ids.append(event.id)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    events = await store.events_after(one.id, 0)
    assert [e.data["i"] for e in events] == [0, 2, 4]
    after = await store.events_after(one.id, events[0].id)
    assert [e.data["i"] for e in after] == [2, 4]
    assert [e.data["i"] for e in await store.events_after(one.id, 0, limit=1)] == [0]
