"""Live fan-out of a conversation's stream events to whoever is listening right now.

The engine publishes every `StreamEvent` here right after the store has persisted it; the API's
SSE route replays `store.events_after(conversation_id, last_id)` and then follows
`bus.subscribe(conversation_id)`, de-duplicating by event id. Delivery is best effort and never
blocks the engine: each subscriber has a bounded queue, and a subscriber that falls behind is
dropped with a final `lagged` marker so it can reconnect and replay from the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

from opsgate.store.records import StreamEvent

DEFAULT_QUEUE_SIZE = 1000
LAGGED_EVENT_TYPE = "stream.lagged"
"""The `type` of the marker a dropped subscriber receives last (id 0: never persisted)."""


def lagged_marker(conversation_id: str) -> StreamEvent:
    """The last event a subscriber sees when it was too slow and got dropped."""
    return StreamEvent(
        id=0,
        conversation_id=conversation_id,
        run_id="",
        type=LAGGED_EVENT_TYPE,
        data={"message": "subscriber fell behind; reconnect with Last-Event-ID to replay"},
        created_at=datetime.now(UTC),
    )


class Subscription:
    """One listener's queue; iterate it (async) until it closes or is dropped."""

    def __init__(self, bus: EventBus, conversation_id: str, maxsize: int) -> None:
        self._bus = bus
        self.conversation_id = conversation_id
        # Two slots kept free (lag marker, end sentinel) so closing never blocks or fails.
        self._queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue(maxsize=maxsize + 2)
        self._maxsize = maxsize
        self.dropped = False
        self.closed = False

    def _offer(self, event: StreamEvent) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self._maxsize:
            self.dropped = True
            self._finish(lagged_marker(self.conversation_id))
            return
        self._queue.put_nowait(event)

    def _finish(self, last: StreamEvent | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus._discard(self)
        if last is not None:
            self._queue.put_nowait(last)
        self._queue.put_nowait(None)

    async def get(self) -> StreamEvent | None:
        """The next event, or None once the subscription has ended."""
        return await self._queue.get()

    def close(self) -> None:
        """Stop receiving events; pending ones are still delivered before the end."""
        self._finish()

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StreamEvent]:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class EventBus:
    """In-memory, per-process fan-out of stream events by conversation id."""

    queue_size: int = DEFAULT_QUEUE_SIZE
    _subscribers: dict[str, set[Subscription]] = field(default_factory=dict)

    def publish(self, conversation_id: str, event: StreamEvent) -> None:
        """Hand `event` to every current subscriber of the conversation; never blocks."""
        for subscription in list(self._subscribers.get(conversation_id, ())):
            subscription._offer(event)

    def subscribe(self, conversation_id: str) -> Subscription:
        """Start listening; use as `async with bus.subscribe(cid) as sub: async for e in sub`."""
        subscription = Subscription(self, conversation_id, self.queue_size)
        self._subscribers.setdefault(conversation_id, set()).add(subscription)
        return subscription

    def subscriber_count(self, conversation_id: str) -> int:
        return len(self._subscribers.get(conversation_id, ()))

    def close(self) -> None:
        """End every subscription (at shutdown); listeners drain and stop."""
        for subscriptions in list(self._subscribers.values()):
            for subscription in list(subscriptions):
                subscription.close()

    def _discard(self, subscription: Subscription) -> None:
        subscriptions = self._subscribers.get(subscription.conversation_id)
        if subscriptions is None:
            return
        subscriptions.discard(subscription)
        if not subscriptions:
            del self._subscribers[subscription.conversation_id]
