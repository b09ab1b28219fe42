"""A conversation's live event stream (Server-Sent Events), resumable without loss.

Subscribes to the bus first, then replays what the store holds after the client's last id
(`Last-Event-ID` or `?after=`), then follows the bus, skipping ids already sent; a subscriber
the bus dropped for lagging replays from the store again. On PostgreSQL the bus follows what
every replica writes (`engine.bus`), so a stream opened on any replica sees every event.
Comments keep idle streams alive, and each idle period ends with a look at the store too (a
safety net should the bus's database listener be down).
Runs never depend on the stream: closing it only ends this subscription.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from opsgate.api import auth, scopes
from opsgate.api.routes import RecordId
from opsgate.api.state import AppState, app_state
from opsgate.engine.bus import LAGGED_EVENT_TYPE
from opsgate.errors import InvalidInput
from opsgate.store.records import StreamEvent

router = APIRouter(tags=["events"])
REPLAY_PAGE = 500
RETRY_MS = 2000


def format_event(event: StreamEvent) -> str:
    data = {
        **event.data,
        "id": event.id,
        "type": event.type,
        "run_id": event.run_id,
        "stored_at": event.created_at.isoformat(),
    }
    body = json.dumps(data, separators=(",", ":"), default=str, ensure_ascii=False)
    return f"id: {event.id}\nevent: {event.type}\ndata: {body}\n\n"


def _resume_point(last_event_id: str | None, after: int | None) -> int:
    if last_event_id is not None and last_event_id.strip():
        try:
            value = int(last_event_id.strip())
        except ValueError:
            raise InvalidInput("Last-Event-ID", "must be an event id (an integer)") from None
        if value < 0:
            raise InvalidInput("Last-Event-ID", "must not be negative")
        return max(value, after or 0)
    return after or 0


async def stream_events(state: AppState, conversation_id: str, after_id: int) -> AsyncIterator[str]:
    """The SSE body: replay, then live events, with heartbeats; ends when the bus closes."""
    last = after_id
    state.metrics.stream_clients.inc()
    subscription = state.bus.subscribe(conversation_id)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        while True:
            while True:
                batch = await state.store.events_after(conversation_id, last, REPLAY_PAGE)
                for stored in batch:
                    yield format_event(stored)
                    last = stored.id
                state.metrics.stream_events.inc(len(batch))
                if len(batch) < REPLAY_PAGE:
                    break
            while True:
                try:
                    live: StreamEvent | None = await asyncio.wait_for(
                        subscription.get(), state.heartbeat_s
                    )
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    # Idle: look in the store too, for events another API replica persisted.
                    break
                if live is None:
                    return
                if live.type == LAGGED_EVENT_TYPE:
                    subscription.close()
                    subscription = state.bus.subscribe(conversation_id)
                    break
                if live.id > last:
                    yield format_event(live)
                    state.metrics.stream_events.inc()
                    last = live.id
    finally:
        subscription.close()
        state.metrics.stream_clients.dec()


@router.get(
    "/conversations/{conversation_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def conversation_events(
    request: Request,
    principal: auth.Viewer,
    conversation_id: RecordId,
    after: int | None = Query(default=None, ge=0, le=2**62),
    last_event_id: str | None = Header(default=None, max_length=30),
) -> StreamingResponse:
    """Server-Sent Events of the conversation; resume with `Last-Event-ID` or `?after=`."""
    state = app_state(request)
    await scopes.conversation(state.store, principal.user, conversation_id)
    start = _resume_point(last_event_id, after)
    return StreamingResponse(
        stream_events(state, conversation_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
