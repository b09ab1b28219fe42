"""The audit log over HTTP: filtered pages, export (JSONL with hashes and the signed head, or
CSV), chain check, and a conversation's replay timeline. Readable by every signed-in user,
each seeing the entries of the conversations their roles cover (`api.scopes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from opsgate.api import auth, scopes
from opsgate.api.routes import RecordId
from opsgate.api.state import app_state
from opsgate.domain.audit import AuditEvent
from opsgate.store import audit_export, replay
from opsgate.store.records import AuditFilter, ChainVerification

router = APIRouter(tags=["audit"])


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_after_seq: int | None
    """Pass as `after_seq` for the next page; null at the end."""


class ReplayOut(BaseModel):
    conversation_id: str
    timeline: list[replay.Entry]
    """One entry per audit event, in order."""
    runs: list[replay.RunView]
    calls: list[replay.ToolCall]
    approvals: list[replay.Approval]


@router.get("/audit", response_model=AuditPage)
async def list_audit(
    request: Request,
    principal: auth.Viewer,
    actor: str | None = Query(default=None, max_length=100),
    kind: str | None = Query(default=None, max_length=100),
    tool: str | None = Query(default=None, max_length=100),
    conversation_id: str | None = Query(default=None, max_length=100),
    run_id: str | None = Query(default=None, max_length=100),
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int = Query(default=0, ge=0, le=2**62),
    limit: int = Query(default=100, ge=1, le=1000),
) -> AuditPage:
    flt = AuditFilter(
        actor_name=actor,
        kind=kind,
        tool=tool,
        conversation_id=conversation_id,
        run_id=run_id,
        since=since,
        until=until,
    )
    store = app_state(request).store
    found = await store.list_audit(flt, limit=limit, after_seq=after_seq)
    # Paging follows the log, not what is shown: a page may hold fewer items than the limit.
    return AuditPage(
        items=await scopes.audit_events(store, principal.user, found),
        next_after_seq=found[-1].seq if len(found) == limit else None,
    )


@router.get("/audit/verify", response_model=ChainVerification)
async def verify_audit(request: Request, principal: auth.Viewer) -> ChainVerification:
    """Recompute the whole keyed chain and hold it against the signed head record: the first
    broken event or the missing range, and the head (seq, hash) it was checked against."""
    return await app_state(request).store.verify_audit()


@router.get("/audit/export", response_class=StreamingResponse)
async def export_audit(
    request: Request,
    principal: auth.Viewer,
    format: Literal["jsonl", "csv"] = "jsonl",
    since: datetime | None = None,
    conversation_id: str | None = Query(default=None, max_length=100),
) -> StreamingResponse:
    """The audit log as a download: JSONL keeps every hash, HMAC and the signed head record,
    so the chain can be checked offline (docs/audit.md). A user who sees only some
    conversations exports one of those (`conversation_id`), never the whole log."""
    store = app_state(request).store
    if conversation_id is None:
        scopes.require_whole_log(principal.user)
    else:
        await scopes.conversation(store, principal.user, conversation_id)
    lines = audit_export.export_lines(
        store, fmt=format, since=since, conversation_id=conversation_id
    )
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        lines,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="opsgate-audit.{format}"'},
    )


@router.get("/conversations/{conversation_id}/replay", response_model=ReplayOut)
async def replay_conversation(
    request: Request,
    principal: auth.Viewer,
    conversation_id: RecordId,
) -> ReplayOut:
    """The conversation's history rebuilt from the audit log alone."""
    store = app_state(request).store
    await scopes.conversation(store, principal.user, conversation_id)
    rebuilt = await replay.replay(store, conversation_id)
    return ReplayOut(
        conversation_id=conversation_id,
        timeline=rebuilt.entries,
        runs=rebuilt.runs,
        calls=rebuilt.calls,
        approvals=rebuilt.approvals,
    )
