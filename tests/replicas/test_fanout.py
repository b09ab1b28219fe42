"""Cross-replica fan-out on PostgreSQL: a bus following the shared database delivers every
event any replica commits, once and in id order, and catches up after its listening
connection is cut. Two stores on one database stand for two replicas."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from opsgate.engine.bus import EventBus, Subscription
from opsgate.errors import ConfigError
from opsgate.store import event_notices, sql
from opsgate.store.records import NewStreamEvent
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY, raw_sql_on

pytestmark = pytest.mark.postgres


@contextlib.asynccontextmanager
async def _replica(url: str) -> AsyncIterator[tuple[sql.SqlStore, EventBus]]:
    store = await sql.open_store(url, secret_key=SECRET_KEY, audit_key=AUDIT_KEY)
    bus = EventBus(source=store)
    connected = asyncio.Event()

    async def on_connected() -> None:
        await bus.catch_up()
        connected.set()

    follower = asyncio.create_task(store.follow_events(bus.notice, on_connected))
    try:
        await asyncio.wait_for(connected.wait(), 10)
        yield store, bus
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        bus.close()
        await store.close()


def _events(conversation_id: str, *texts: str) -> list[NewStreamEvent]:
    return [NewStreamEvent(conversation_id, "run-1", "token", {"text": t}) for t in texts]


async def _take(subscription: Subscription, count: int) -> list[str]:
    got: list[str] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            event = await subscription.get()
            assert event is not None
            got.append(str(event.data["text"]))
    return got


async def test_events_written_on_one_replica_reach_a_subscriber_on_another_in_order(
    postgres_url: str,
) -> None:
    async with _replica(postgres_url) as (store_a, _), _replica(postgres_url) as (_, bus_c):
        subscription = bus_c.subscribe("cnv-1")
        other = bus_c.subscribe("cnv-2")
        writers = [
            store_a.write_batch(_events("cnv-1", f"{w}-{i}", f"{w}-{i}b"))
            for w in range(5)
            for i in range(4)
        ]
        await asyncio.gather(*writers)
        await store_a.write_batch(_events("cnv-2", "elsewhere"))
        received = await _take(subscription, 40)
        assert sorted(received) == sorted(
            f"{w}-{i}{s}" for w in range(5) for i in range(4) for s in ("", "b")
        )
        stored = await store_a.events_after("cnv-1", 0, 100)
        assert received == [str(e.data["text"]) for e in stored]
        assert await _take(other, 1) == ["elsewhere"]
        assert subscription._queue.empty()


async def test_a_local_publish_and_a_remote_notice_of_one_event_deliver_it_once(
    postgres_url: str,
) -> None:
    async with _replica(postgres_url) as (store_a, bus_a):
        subscription = bus_a.subscribe("cnv-1")
        for event in await store_a.write_batch(_events("cnv-1", "one", "two")):
            bus_a.publish("cnv-1", event)  # as the recorder does; the notice comes too
        assert await _take(subscription, 2) == ["one", "two"]
        await store_a.write_batch(_events("cnv-1", "three"))
        assert await _take(subscription, 1) == ["three"]


async def test_after_its_connection_is_cut_the_listener_reconnects_and_catches_up(
    postgres_url: str,
) -> None:
    async with _replica(postgres_url) as (store_a, bus_a), _replica(postgres_url) as (_, bus_c):
        subscription = bus_c.subscribe("cnv-1")
        await store_a.write_batch(_events("cnv-1", "before"))
        assert await _take(subscription, 1) == ["before"]
        # Cut every listening connection; events committed meanwhile send their notice to
        # nobody, so only the catch-up on reconnect can bring them.
        kill = raw_sql_on(postgres_url)
        cut = await kill(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :listen",
            listen=f"LISTEN {event_notices.CHANNEL}",
        )
        assert len(cut) == 2
        await store_a.write_batch(_events("cnv-1", "while-cut-1", "while-cut-2"))
        assert await _take(subscription, 2) == ["while-cut-1", "while-cut-2"]
        assert bus_a.subscriber_count("cnv-1") == 0


async def test_sqlite_stores_do_not_follow(tmp_path: object) -> None:
    store = await sql.open_store(
        f"sqlite+aiosqlite:///{tmp_path}/one.db", secret_key=SECRET_KEY, audit_key=AUDIT_KEY
    )
    try:
        assert store.shared is False

        async def connected() -> None:
            raise AssertionError("never listens")

        with pytest.raises(ConfigError, match="only PostgreSQL"):
            await store.follow_events(lambda c, i: None, connected)
    finally:
        await store.close()
