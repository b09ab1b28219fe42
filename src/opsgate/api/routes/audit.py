"""The audit log over HTTP: filtered pages, export (JSONL with hashes and the signed head, or
CSV), chain check, a conversation's replay timeline and one run's timed steps. Readable by
every signed-in user, each seeing the entries of the conversations their roles cover
(`api.scopes`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from opsgate.api import audit_rows, auth, scopes
from opsgate.api.routes import RecordId
from opsgate.api.state import app_state
from opsgate.domain import run_timeline
from opsgate.domain.audit_facts import Outcome
from opsgate.store import audit_export, replay
from opsgate.store.records import AuditFilter, ChainVerification

router = APIRouter(tags=["audit"])


class ReplayOut(BaseModel):
    conversation_id: str
    timeline: list[replay.Entry]
    """One entry per audit event, in order."""
    runs: list[replay.RunView]
    calls: list[replay.ToolCall]
    approvals: list[replay.Approval]


@router.get("/audit", response_model=audit_rows.AuditPage)
async def list_audit(
    request: Request,
    principal: auth.Viewer,
    actor: str | None = Query(default=None, max_length=100),
    kind: str | None = Query(default=None, max_length=100),
    tool: str | None = Query(default=None, max_length=100),
    conversation_id: str | None = Query(default=None, max_length=100),
    run_id: str | None = Query(default=None, max_length=100),
    object: str | None = Query(default=None, max_length=300),
    outcome: Outcome | None = None,
    hide_logins: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int = Query(default=0, ge=0, le=2**62),
    limit: int = Query(default=100, ge=1, le=1000),
) -> audit_rows.AuditPage:
    """Events with their facts and conversation title; `object` and `outcome` match the facts
    (`domain.audit_facts`), `hide_logins` leaves successful sign-ins out. A page may hold fewer
    than `limit` rows while `next_after_seq` is set: keep paging to scan further."""
    flt = AuditFilter(
        actor_name=actor,
        kind=kind,
        tool=tool,
        conversation_id=conversation_id,
        run_id=run_id,
        since=since,
        until=until,
    )
    rows = audit_rows.RowFilter(object=object, outcome=outcome, hide_logins=hide_logins)
    return await audit_rows.audit_page(
        app_state(request).store,
        principal.user,
        flt,
        rows,
        after_seq=after_seq,
        limit=limit,
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


class RunTimelineOut(run_timeline.RunTimeline):
    conversation_title: str | None
    """The title of the run's conversation (None once it is gone)."""


@router.get("/runs/{run_id}/timeline", response_model=RunTimelineOut)
async def timeline_of_run(
    request: Request, principal: auth.Viewer, run_id: RecordId
) -> RunTimelineOut:
    """The run's steps with their durations, built from its audit events alone
    (`domain.run_timeline`); each step names the audit events it was read from."""
    store = app_state(request).store
    run = await scopes.run(store, principal.user, run_id)
    events = [event async for event in store.iter_audit(AuditFilter(run_id=run_id))]
    built = run_timeline.build(run_id, events)
    named = await audit_rows.titles(store, [run.conversation_id])
    return RunTimelineOut(**built.model_dump(), conversation_title=named[run.conversation_id])
