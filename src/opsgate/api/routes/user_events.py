"""The signed-in user's own live stream (`GET /events/me`): their approvals inbox as it changes.

Each `inbox` event is a whole snapshot (how many pending calls the user may decide, how many
wait on them, and which ones arrived since the last snapshot), so a client that reconnects
misses nothing and needs no `Last-Event-ID`. The stream is woken by the bus (`EventBus.watch`:
`approval.requested`, `approval.decided` and `approval.expired` of any conversation, and on
PostgreSQL every replica's notices), then reads the inbox from the store (`routes.inbox.inbox`)
and sends a snapshot only when it changed. Each idle heartbeat reads it too (a safety net
should a notice be lost). The Command Center's header badge and the conversation list's badge
follow it; it ends when the user is disabled or the bus closes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from opsgate.api import auth
from opsgate.api.routes.events import RETRY_MS
from opsgate.api.routes.inbox import inbox
from opsgate.api.schemas import InboxList
from opsgate.api.state import AppState, app_state
from opsgate.errors import NotFound

router = APIRouter(tags=["events"])

SETTLE_S = 0.5
"""After a wake-up, wait this long so a burst of events costs one read of the inbox (on
PostgreSQL every committed event of any conversation wakes the stream: notices carry no type)."""
APPROVAL_EVENTS = frozenset({"approval.requested", "approval.decided", "approval.expired"})
"""The events that change an inbox."""


def inbox_event(listed: InboxList, known: set[str] | None) -> str:
    """The `inbox` SSE event; `new` lists calls waiting on the user not in `known` (all of them
    on the first snapshot would notify about old requests, so `known=None` gives none)."""
    arrived = [
        {
            "approval_id": row.approval_id,
            "call_id": row.call_id,
            "conversation_id": row.conversation_id,
            "tool": row.tool,
            "namespace": row.namespace,
            "context": row.context,
            "destructive": row.destructive,
            "proposed_by_name": row.proposed_by_name,
        }
        for row in listed.items
        if row.waiting_on_me and known is not None and row.call_id not in known
    ]
    data = {"pending": listed.pending, "waiting_on_me": listed.waiting_on_me, "new": arrived}
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: inbox\ndata: {body}\n\n"


async def stream_inbox(state: AppState, user_id: str) -> AsyncIterator[str]:
    """The SSE body: a snapshot now, then one whenever the inbox changes; heartbeats between."""
    watch = state.bus.watch(APPROVAL_EVENTS)
    state.metrics.stream_clients.inc()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        sent: tuple[int, frozenset[str], frozenset[str]] | None = None
        while True:
            try:
                user = await state.store.get_user(user_id)
            except NotFound:
                return
            if user.disabled:
                return
            listed = await inbox(state, user)
            waiting = frozenset(row.call_id for row in listed.items if row.waiting_on_me)
            snapshot = (listed.pending, frozenset(row.call_id for row in listed.items), waiting)
            if snapshot != sent:
                yield inbox_event(listed, None if sent is None else set(sent[2]))
                sent = snapshot
            if not await watch.wait(state.heartbeat_s):
                yield ": keep-alive\n\n"
                continue
            if watch.closed:
                return
            await asyncio.sleep(SETTLE_S)
    finally:
        watch.close()
        state.metrics.stream_clients.dec()


@router.get(
    "/events/me",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def my_events(request: Request, principal: auth.Viewer) -> StreamingResponse:
    """Server-Sent Events of the user's approvals inbox (`inbox` snapshots)."""
    return StreamingResponse(
        stream_inbox(app_state(request), principal.user.id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
