"""The audit log over HTTP: filtered pages, export (JSONL with hashes, or CSV), chain check,
and a conversation's replay timeline. Readable by every signed-in user.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from opsgate.api import auth
from opsgate.api.routes import RecordId
from opsgate.api.state import app_state
from opsgate.domain.audit import AuditEvent
from opsgate.domain.canonical import canonical_json
from opsgate.store import audit_export, replay
from opsgate.store.protocol import Store
from opsgate.store.records import AuditFilter, ChainVerification

router = APIRouter(tags=["audit"])
_PAGE = 1000


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
    items = await app_state(request).store.list_audit(flt, limit=limit, after_seq=after_seq)
    return AuditPage(items=items, next_after_seq=items[-1].seq if len(items) == limit else None)


@router.get("/audit/verify", response_model=ChainVerification)
async def verify_audit(request: Request, principal: auth.Viewer) -> ChainVerification:
    """Recompute the whole hash chain and report the first broken event, if any."""
    return await app_state(request).store.verify_audit()


async def _all_events(store: Store, flt: AuditFilter) -> AsyncIterator[AuditEvent]:
    """Every matching event in order, fetched a page at a time."""
    after = 0
    while True:
        page = await store.list_audit(flt, limit=_PAGE, after_seq=after)
        for event in page:
            yield event
        if len(page) < _PAGE:
            return
        after = page[-1].seq


def _csv_line(row: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    return buffer.getvalue()


def _csv_row(event: AuditEvent) -> list[Any]:
    row = audit_export.event_json(event)
    row["payload"] = canonical_json(row["payload"])
    return ["" if row[column] is None else row[column] for column in audit_export.CSV_COLUMNS]


@router.get("/audit/export", response_class=StreamingResponse)
async def export_audit(
    request: Request,
    principal: auth.Viewer,
    format: Literal["jsonl", "csv"] = "jsonl",
    since: datetime | None = None,
    conversation_id: str | None = Query(default=None, max_length=100),
) -> StreamingResponse:
    """The audit log as a download: JSONL keeps every hash so the chain can be checked offline."""
    store = app_state(request).store
    flt = AuditFilter(since=since, conversation_id=conversation_id)

    async def lines() -> AsyncIterator[str]:
        if format == "csv":
            yield _csv_line(list(audit_export.CSV_COLUMNS))
        async for event in _all_events(store, flt):
            if format == "csv":
                yield _csv_line(_csv_row(event))
            else:
                yield audit_export.event_line(event) + "\n"

    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        lines(),
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
    await store.get_conversation(conversation_id)
    rebuilt = await replay.replay(store, conversation_id)
    return ReplayOut(
        conversation_id=conversation_id,
        timeline=rebuilt.entries,
        runs=rebuilt.runs,
        calls=rebuilt.calls,
        approvals=rebuilt.approvals,
    )
