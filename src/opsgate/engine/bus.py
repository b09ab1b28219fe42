"""Live fan-out of a conversation's stream events to whoever is listening right now.

The engine publishes every `StreamEvent` here right after the store has persisted it; the API's
SSE route replays `store.events_after(conversation_id, last_id)` and then follows
`bus.subscribe(conversation_id)`, de-duplicating by event id. Delivery is best effort and never
blocks the engine: each subscriber has a bounded queue, and a subscriber that falls behind is
dropped with a final `lagged` marker so it can reconnect and replay from the store.

With a `source` (a store that several replicas write, PostgreSQL), events of any replica
reach this process's subscribers: a publish, or a notice from the database that some process
committed events (`notice`, fed by `Store.follow_events`), only says "conversation X has
events up to id N"; one reader per conversation then reads what follows the last id it
delivered from the table and delivers it, so subscribers get every event once, in id order,
whichever replica wrote it. Event ids become visible in id order (the store inserts them under
a lock), which is what makes "everything after the last id" complete.

`watch(types)` is for listeners of no one conversation (the API's user stream, `GET
/events/me`): a `Watch` is woken by every publish of one of `types`, and on a shared bus by
every notice (a notice does not say what it committed), of any conversation and any replica;
it carries no events: its owner reads what it needs from the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

from opsgate.errors import OpsgateError
from opsgate.store.protocol import Store
from opsgate.store.records import StreamEvent

_log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
READ_PAGE = 500
"""Events a shared bus reads from the store per query."""
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


class Watch:
    """Wakes its owner when any conversation has new events (see `EventBus.watch`)."""

    def __init__(self, bus: EventBus, types: frozenset[str]) -> None:
        self._bus = bus
        self.types = types
        self._woken = asyncio.Event()
        self.closed = False

    def _wake(self) -> None:
        self._woken.set()

    async def wait(self, timeout_s: float) -> bool:
        """True when woken (or closed) within `timeout_s`, False when the time ran out."""
        try:
            await asyncio.wait_for(self._woken.wait(), timeout_s)
        except TimeoutError:
            return False
        self._woken.clear()
        return True

    def close(self) -> None:
        """Stop being woken; a `wait` in progress returns True (check `closed`)."""
        if self.closed:
            return
        self.closed = True
        self._bus._watches.discard(self)
        self._woken.set()


@dataclass
class EventBus:
    """Per-process fan-out of stream events by conversation id (see the module docstring)."""

    queue_size: int = DEFAULT_QUEUE_SIZE
    source: Store | None = None
    """The shared database every replica writes; None: this process's events only (SQLite)."""
    _subscribers: dict[str, set[Subscription]] = field(default_factory=dict)
    _delivered: dict[str, int] = field(default_factory=dict)
    """Shared bus: per followed conversation, the last event id handed to its subscribers."""
    _behind: set[str] = field(default_factory=set)
    _readers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _seen: int = 0
    """Shared bus: the highest event id noticed so far, in any conversation."""
    _watches: set[Watch] = field(default_factory=set)

    def publish(self, conversation_id: str, event: StreamEvent) -> None:
        """Hand `event` to every current subscriber of the conversation; never blocks."""
        if self.source is None:
            self._deliver(conversation_id, event)
            self._wake_watches(event.type)
        else:
            self.notice(conversation_id, event.id)

    def notice(self, conversation_id: str, event_id: int) -> None:
        """Shared bus: events of the conversation up to `event_id` are committed; read them."""
        self._seen = max(self._seen, event_id)
        self._wake_watches(None)
        if conversation_id in self._subscribers and event_id > self._delivered.get(
            conversation_id, 0
        ):
            self._read_soon(conversation_id)

    async def catch_up(self) -> None:
        """Shared bus: read every followed conversation again (notices may have been missed
        while the database connection was down); called whenever listening (re)starts."""
        for conversation_id in list(self._subscribers):
            self._read_soon(conversation_id)
        self._wake_watches(None)

    def watch(self, types: frozenset[str]) -> Watch:
        """A wake-up for new events of `types` in any conversation (close it when done)."""
        watch = Watch(self, types)
        self._watches.add(watch)
        return watch

    def _wake_watches(self, event_type: str | None) -> None:
        """Wake the watches of `event_type`; None (a notice: type unknown) wakes them all."""
        for watch in self._watches:
            if event_type is None or event_type in watch.types:
                watch._wake()

    def _read_soon(self, conversation_id: str) -> None:
        self._behind.add(conversation_id)
        if conversation_id not in self._readers:
            self._readers[conversation_id] = asyncio.create_task(
                self._read(conversation_id), name=f"bus-read-{conversation_id}"
            )

    async def _read(self, conversation_id: str) -> None:
        assert self.source is not None
        try:
            while conversation_id in self._behind and conversation_id in self._subscribers:
                self._behind.discard(conversation_id)
                after = self._delivered.get(conversation_id, 0)
                batch = await self.source.events_after(conversation_id, after, READ_PAGE)
                for event in batch:
                    self._deliver(conversation_id, event)
                    self._seen = max(self._seen, event.id)
                if batch and conversation_id in self._subscribers:
                    self._delivered[conversation_id] = batch[-1].id
                if len(batch) == READ_PAGE:
                    self._behind.add(conversation_id)
        except OpsgateError as e:
            # Left behind: the next notice reads again; streams also look in the store
            # themselves whenever they are idle.
            self._behind.add(conversation_id)
            _log.warning("could not read the events of conversation %r: %s", conversation_id, e)
        finally:
            self._readers.pop(conversation_id, None)

    def _deliver(self, conversation_id: str, event: StreamEvent) -> None:
        for subscription in list(self._subscribers.get(conversation_id, ())):
            subscription._offer(event)

    def subscribe(self, conversation_id: str) -> Subscription:
        """Start listening; use as `async with bus.subscribe(cid) as sub: async for e in sub`."""
        subscription = Subscription(self, conversation_id, self.queue_size)
        if self.source is not None and conversation_id not in self._subscribers:
            # Every event up to `_seen` is committed (ids become visible in order), so the
            # subscriber's own replay from the store covers it; this bus delivers what follows.
            self._delivered[conversation_id] = self._seen
        self._subscribers.setdefault(conversation_id, set()).add(subscription)
        return subscription

    def subscriber_count(self, conversation_id: str) -> int:
        return len(self._subscribers.get(conversation_id, ()))

    def close(self) -> None:
        """End every subscription (at shutdown); listeners drain and stop."""
        for subscriptions in list(self._subscribers.values()):
            for subscription in list(subscriptions):
                subscription.close()
        for reader in list(self._readers.values()):
            reader.cancel()
        for watch in list(self._watches):
            watch.close()

    def _discard(self, subscription: Subscription) -> None:
        subscriptions = self._subscribers.get(subscription.conversation_id)
        if subscriptions is None:
            return
        subscriptions.discard(subscription)
        if not subscriptions:
            del self._subscribers[subscription.conversation_id]
            self._delivered.pop(subscription.conversation_id, None)
            self._behind.discard(subscription.conversation_id)
