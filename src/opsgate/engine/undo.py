"""Snapshots before a change and the undo offered after it.

`take_snapshot` is called by `execution.CallRunner.execute_approved` just before an approved
change runs: the tool server's snapshot recipe reads the targets, and the store keeps them with
the call restoring them (or why none can). `offer` says, for the API route
`/api/v1/calls/{call_id}/undo`, `opsgate undo` and the tool card, whether a call that ran can
be undone and by which call; `Engine.submit_undo` submits that call like any other, so it gets
its own dry run, approval and audit trail.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from opsgate.domain.acting import ActingAs
from opsgate.domain.calls import CallStatus
from opsgate.domain.outcomes import RAN_STATES
from opsgate.engine.deps import EngineDeps
from opsgate.errors import NotFound, OpsgateError, truncate
from opsgate.store.protocol import Store
from opsgate.tools.base import RollbackCall, Snapshot


class UndoOffer(BaseModel):
    """Whether a call can be undone, and by what; the body of `GET /calls/{call_id}/undo`."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    conversation_id: str
    tool: str
    status: CallStatus
    undo: RollbackCall | None
    """The call restoring the snapshot (a mutation, gated like any other), when there is one."""
    reason: str | None
    """Why it cannot be, when `undo` is None."""
    snapshot_sha256: str | None = None
    taken_at: datetime | None = None


async def take_snapshot(
    deps: EngineDeps,
    *,
    call_id: str,
    conversation_id: str,
    run_id: str,
    tool: str,
    args: dict[str, Any],
    acting_as: ActingAs | None = None,
) -> str:
    """Store the change's targets as they are now, with the call restoring them (or why none
    can); the hash the change's `tool.started` event names.

    A snapshot that cannot be read is stored as such: the approved change still runs (the
    approval was for the change, not for its undo), and its undo says why there is none.
    """
    try:
        result = await asyncio.wait_for(
            deps.tools.snapshot(tool, args, acting_as=acting_as), deps.limits.preview_timeout_s
        )
    except (OpsgateError, TimeoutError) as e:
        why = str(e) or f"it did not finish in {deps.limits.preview_timeout_s:g} s"
        found = Snapshot(cannot_undo=f"the snapshot could not be taken: {truncate(why, 300)}")
    else:
        if result.error == "not_declared":
            found = Snapshot(cannot_undo=f"{tool} declares no undo")
        else:
            found = _snapshot_of(result.data) or Snapshot(
                cannot_undo=f"the tool server sent no snapshot: {truncate(result.text, 300)}"
            )
    saved = await deps.store.save_snapshot(
        call_id=call_id,
        conversation_id=conversation_id,
        run_id=run_id,
        tool=tool,
        objects=found.objects,
        undo=found.undo.model_dump(mode="json") if found.undo is not None else None,
        cannot_undo=found.cannot_undo,
    )
    return saved.sha256


def _snapshot_of(data: Any) -> Snapshot | None:
    if not isinstance(data, dict):
        return None
    try:
        found = Snapshot.model_validate(data)
    except ValidationError:
        return None
    return found if (found.undo is None) != (found.cannot_undo is None) else None


async def offer(store: Store, call_id: str) -> UndoOffer:
    """Whether `call_id` can be undone now, and by which call.

    Raises:
        NotFound: there is no such call.
    """
    try:
        snapshot = await store.get_snapshot(call_id)
    except NotFound:
        snapshot = None
    call = await store.get_call(call_id)
    if snapshot is None:
        why = (
            "it only read: there is nothing to undo"
            if call.classification == "read"
            else f"it did not run (status {call.status!r}), so no snapshot was taken"
        )
        return UndoOffer(
            call_id=call.id,
            conversation_id=call.conversation_id,
            tool=call.tool,
            status=call.status,
            undo=None,
            reason=why,
        )
    undo = RollbackCall.model_validate(snapshot.undo) if snapshot.undo is not None else None
    reason = snapshot.cannot_undo
    if call.status == "running" or call.status not in RAN_STATES:
        undo, reason = None, f"the change has not finished (status {call.status!r})"
    return UndoOffer(
        call_id=call.id,
        conversation_id=call.conversation_id,
        tool=call.tool,
        status=call.status,
        undo=undo,
        reason=reason if undo is None else None,
        snapshot_sha256=snapshot.sha256,
        taken_at=snapshot.taken_at,
    )
