"""Cross-process notice of new stream events on PostgreSQL: `NOTIFY` on commit, `LISTEN` here.

`SqlStore._insert_events` queues `pg_notify(CHANNEL, '<conversation id>:<last event id>')`
in the transaction that inserts a conversation's events; PostgreSQL delivers it only once that
transaction commits, so a notice never names an event a reader cannot see yet. The notice
carries ids only: listeners read the events themselves from the table (`events_after`), so a
lost or merged notice loses nothing but time. `listen` is what `SqlStore.follow_events` runs
for the API's shared bus (`engine.bus.EventBus` with a store): one dedicated autocommit
connection, re-opened after any failure, with `on_connected` called after each (re)connect
so the caller can catch up on what it missed while it was not listening. The same connection
carries stop requests (`STOP_CHANNEL`) for runs another replica drives (`SqlStore.request_stop`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import make_url

from opsgate.errors import truncate

CHANNEL = "opsgate_events"
STOP_CHANNEL = "opsgate_stops"
"""Stop requests for a run another replica drives: `'<run id>:<user name>'`."""
RECONNECT_S = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Waits between attempts to re-open the listening connection (the last one repeats)."""

_log = logging.getLogger(__name__)

OnNotice = Callable[[str, int], None]
OnConnected = Callable[[], Awaitable[None]]
OnStop = Callable[[str, str], None]


def payload(conversation_id: str, event_id: int) -> str:
    """What a notice says: the conversation and the last id the transaction inserted."""
    return f"{conversation_id}:{event_id}"


def parse(text: str) -> tuple[str, int] | None:
    """The conversation id and event id of a notice; None for anything else on the channel."""
    conversation_id, sep, number = text.rpartition(":")
    if not sep or not conversation_id or not number.isdigit():
        return None
    return conversation_id, int(number)


def parse_stop(text: str) -> tuple[str, str] | None:
    """The run id and the name of who asked, of a stop request; None for anything else."""
    run_id, sep, user_name = text.partition(":")
    return (run_id, user_name) if sep and run_id and user_name else None


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq URL of a `postgresql+psycopg://` SQLAlchemy URL (password kept)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


async def listen(
    url: str, on_notice: OnNotice, on_connected: OnConnected, on_stop: OnStop | None = None
) -> None:
    """LISTEN at `url` until cancelled: event notices to `on_notice`, stop requests (when
    `on_stop` is given) to `on_stop`."""
    import psycopg  # PostgreSQL only: a SQLite deployment never pays for importing it

    attempt = 0
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                if on_stop is not None:
                    await conn.execute(f"LISTEN {STOP_CHANNEL}")
                attempt = 0
                await on_connected()
                async for notice in conn.notifies():
                    if notice.channel == STOP_CHANNEL and on_stop is not None:
                        stop = parse_stop(notice.payload)
                        if stop is not None:
                            on_stop(*stop)
                        continue
                    parsed = parse(notice.payload)
                    if parsed is not None:
                        on_notice(*parsed)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # The connection dropped (or never opened): listen again, then catch up.
            _log.warning("listening for stream events failed (%s); retrying", truncate(str(e), 200))
        await asyncio.sleep(RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)])
        attempt += 1
