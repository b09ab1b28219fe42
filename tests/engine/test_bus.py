"""The in-memory event bus: fan-out per conversation, bounded, never blocking the publisher."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from opsgate.engine.bus import LAGGED_EVENT_TYPE, EventBus
from opsgate.store.records import StreamEvent


def _event(event_id: int, conversation_id: str = "c1") -> StreamEvent:
    return StreamEvent(
        id=event_id,
        conversation_id=conversation_id,
        run_id="r1",
        type="token",
        data={"text": str(event_id)},
        created_at=datetime.now(UTC),
    )


async def test_subscribers_receive_events_of_their_conversation_only() -> None:
    bus = EventBus()
    first = bus.subscribe("c1")
    second = bus.subscribe("c1")
    other = bus.subscribe("c2")
    bus.publish("c1", _event(1))
    bus.publish("c2", _event(2, "c2"))
    bus.close()
    assert [e.id for e in [e async for e in first]] == [1]
    assert [e.id for e in [e async for e in second]] == [1]
    assert [e.id for e in [e async for e in other]] == [2]


async def test_slow_subscriber_is_dropped_with_a_marker_and_publisher_never_blocks() -> None:
    bus = EventBus(queue_size=3)
    slow = bus.subscribe("c1")
    fast = bus.subscribe("c1")
    received: list[int] = []

    async def drain() -> None:
        async for event in fast:
            received.append(event.id)

    drainer = asyncio.create_task(drain())
    for event_id in range(1, 11):
        bus.publish("c1", _event(event_id))
        await asyncio.sleep(0)
    bus.close()
    await drainer
    slow_events = [e async for e in slow]
    assert slow.dropped
    assert [e.id for e in slow_events[:-1]] == [1, 2, 3]
    assert slow_events[-1].type == LAGGED_EVENT_TYPE
    assert received == list(range(1, 11))


async def test_leaving_the_context_unsubscribes() -> None:
    bus = EventBus()
    async with bus.subscribe("c1"):
        assert bus.subscriber_count("c1") == 1
    assert bus.subscriber_count("c1") == 0
    bus.publish("c1", _event(1))
