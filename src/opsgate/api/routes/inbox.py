"""The approvals inbox: every pending call the signed-in user may decide, across conversations.

`GET /inbox` lists them (oldest request first) with the columns the Command Center's Approvals
view and `opsgate approvals list` show, filtered on request; `user_events` builds the live
badge count from the same `inbox()`. Who may decide an item is one function, `may_decide`: the
user's role in the item's context and namespace (scoped roles, `domain.grants`), the same
judgement `Engine.decide` makes; a request the user may not see (`api.scopes`) is never listed.
Listing is a convenience, never the check: `Engine.decide` judges every decision again.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request

from opsgate.api import auth, scopes
from opsgate.api.routes.approvals import approval_out
from opsgate.api.schemas import ApprovalItemOut, ApprovalOut, InboxItemOut, InboxList
from opsgate.api.state import AppState, app_state
from opsgate.domain import grants, roles
from opsgate.errors import NotFound
from opsgate.store.records import ApprovalItem, ApprovalRequest, User

router = APIRouter(tags=["approvals"])

EXPIRING_SOON_S = 300
"""A request with fewer seconds left than this is "expiring soon"."""
PENDING_LIMIT = 500
"""Pending requests read per listing (the store's own cap on `list_approvals`)."""


def may_decide(user: User, request: ApprovalRequest, item: ApprovalItem) -> bool:
    """Whether `user`'s role in the scope of `item` (its context and namespace, through the
    user's grants) lets them decide it at all; the list, the badge and the stream follow it."""
    role = grants.effective_role(user.role, user.grants, item.context, scopes.item_namespace(item))
    return not user.disabled and roles.can_approve(role)


def waiting_on(
    user: User, request: ApprovalRequest, item: ApprovalItem, *, distinct_approver: bool
) -> bool:
    """Whether a decision by `user` would count now (see `InboxItemOut.waiting_on_me`)."""
    if item.status != "pending" or not may_decide(user, request, item):
        return False
    if distinct_approver and request.proposed_by == user.id:
        return False
    return all(decision.decided_by != user.id for decision in item.decisions)


def _row(
    shown: ApprovalOut,
    item: ApprovalItemOut,
    title: str | None,
    *,
    user: User,
    waiting: bool,
    now: datetime,
) -> InboxItemOut:
    seconds_left = max(0, int((shown.expires_at - now).total_seconds()))
    return InboxItemOut(
        approval_id=shown.id,
        call_id=item.call_id,
        run_id=shown.run_id,
        conversation_id=shown.conversation_id,
        conversation_title=title,
        tool=item.tool,
        args=item.args,
        namespace=item.namespace,
        context=item.context,
        cluster=item.cluster,
        destructive=item.destructive,
        preview_state=item.preview_state,
        proposed_by=shown.proposed_by,
        proposed_by_name=shown.proposed_by_name,
        created_at=shown.created_at,
        expires_at=shown.expires_at,
        seconds_left=seconds_left,
        expiring_soon=seconds_left < EXPIRING_SOON_S,
        requirement=item.requirement,
        progress=item.progress,
        decide_why=item.decide_why,
        proposed_by_me=shown.proposed_by == user.id,
        waiting_on_me=waiting,
    )


async def inbox(state: AppState, user: User) -> InboxList:
    """Every pending call `user` may decide, oldest request first, with both counts."""
    found = await state.store.list_approvals(status="pending", limit=PENDING_LIMIT)
    now = state.clock()
    distinct = state.settings.require_distinct_approver
    names: dict[str, str] = {}
    titles: dict[str, str | None] = {}
    rows: list[InboxItemOut] = []
    for request in sorted(found, key=lambda r: (r.created_at, r.id)):
        if not scopes.sees_approval(user, request):
            continue
        decidable = {
            item.call_id: waiting_on(user, request, item, distinct_approver=distinct)
            for item in request.items
            if item.status == "pending" and may_decide(user, request, item)
        }
        if not decidable:
            continue
        if request.conversation_id not in titles:
            try:
                conversation = await scopes.conversation(state.store, user, request.conversation_id)
                titles[request.conversation_id] = conversation.title
            except NotFound:
                # Gone, or one of its other contexts is outside the user's scope: no title.
                titles[request.conversation_id] = None
        shown = await approval_out(state.store, request, names, viewer=user)
        for item in shown.items:
            if item.call_id in decidable:
                title = titles[request.conversation_id]
                waiting = decidable[item.call_id]
                rows.append(_row(shown, item, title, user=user, waiting=waiting, now=now))
    return InboxList(
        items=rows, pending=len(rows), waiting_on_me=sum(row.waiting_on_me for row in rows)
    )


@router.get("/inbox", response_model=InboxList)
async def list_inbox(
    request: Request,
    principal: auth.Viewer,
    destructive: bool = False,
    expiring_soon: bool = False,
    proposed_by_me: bool = False,
    waiting_on_me: bool = False,
) -> InboxList:
    """Pending calls the user may decide; each filter given as true keeps only its rows (the
    counts are before the filters)."""
    listed = await inbox(app_state(request), principal.user)
    listed.items = [
        row
        for row in listed.items
        if (row.destructive or not destructive)
        and (row.expiring_soon or not expiring_soon)
        and (row.proposed_by_me or not proposed_by_me)
        and (row.waiting_on_me or not waiting_on_me)
    ]
    return listed
