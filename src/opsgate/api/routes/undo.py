"""Undoing a change: what would restore a call's snapshot, and submitting that call.

`GET /calls/{call_id}/undo` says whether a call that ran can be undone and by which call (or
why not); the tool card and `opsgate undo` read it. `POST` submits the undo in the call's own
conversation through `Engine.submit_undo`: a direct run whose call is previewed and waits for
an approver like any change. Viewers read; operators and above submit.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from opsgate.api import auth
from opsgate.api.routes import RecordId
from opsgate.api.state import app_state
from opsgate.engine import undo
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
    return await undo.offer(app_state(request).store, call_id)


@router.post("/calls/{call_id}/undo", response_model=UndoStarted, status_code=202)
async def post_undo(request: Request, principal: auth.Operator, call_id: RecordId) -> UndoStarted:
    """Submit the call restoring the snapshot; 409 with the reason when there is none."""
    run, restoring = await app_state(request).engine.submit_undo(call_id, principal.user)
    return UndoStarted(run_id=run.id, call_id=call_id, undo=restoring)
