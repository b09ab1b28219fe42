"""Undoing a change: what would restore a call's snapshot, and submitting that call.

`GET /calls/{call_id}/undo` says whether a call that ran can be undone and by which call (or
why not); the tool card and `opsgate undo` read it. `POST` submits the undo in the call's own
conversation through `Engine.submit_undo`: a direct run whose call is previewed and waits for
an approver like any change. Viewers read; operators and above submit; a call in a
conversation the user may not see is answered 404, as if it did not exist (`api.scopes`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from opsgate.api import auth, scopes
from opsgate.api.routes import RecordId
from opsgate.api.state import app_state
from opsgate.engine import undo
from opsgate.errors import NotFound
from opsgate.store.records import User
from opsgate.tools.base import RollbackCall

router = APIRouter(tags=["undo"])


class UndoStarted(BaseModel):
    """The undo's run (it waits for approval) and the call it submitted."""

    run_id: str
    call_id: str
    """The call being undone."""
    undo: RollbackCall


@router.get("/calls/{call_id}/undo", response_model=undo.UndoOffer)
async def get_undo(request: Request, principal: auth.Viewer, call_id: RecordId) -> undo.UndoOffer:
    """Whether the call can be undone, by which call, or why not."""
    return await _visible_offer(request, principal.user, call_id)


@router.post("/calls/{call_id}/undo", response_model=UndoStarted, status_code=202)
async def post_undo(request: Request, principal: auth.Operator, call_id: RecordId) -> UndoStarted:
    """Submit the call restoring the snapshot; 409 with the reason when there is none."""
    await _visible_offer(request, principal.user, call_id)
    run, restoring = await app_state(request).engine.submit_undo(call_id, principal.user)
    return UndoStarted(run_id=run.id, call_id=call_id, undo=restoring)


async def _visible_offer(request: Request, user: User, call_id: str) -> undo.UndoOffer:
    store = app_state(request).store
    offer = await undo.offer(store, call_id)
    try:
        await scopes.conversation(store, user, offer.conversation_id)
    except NotFound as e:
        raise NotFound(f"no call {call_id!r}") from e
    return offer
