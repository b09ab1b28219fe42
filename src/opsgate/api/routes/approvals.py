"""Approval requests: list them, and decide one call or all calls of a request.

Only approvers and admins decide, on a credential of their own (`auth.Decider`: not a token
made on their behalf); the engine checks the role again and applies the optional
distinct-approver rule and the approval policy stored with the request (a decision a rule
refuses answers 403 with the rule's message). Deciding a call that is no longer pending
answers 409. Each item says whether the signed-in user may decide it
(`may_decide`, `decide_why`: their role in the item's context and namespace); approvals
outside the user's grants are not shown at all.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from opsgate.api import auth, scopes
from opsgate.api.routes import RecordId
from opsgate.api.schemas import (
    ApprovalAnswer,
    ApprovalItemOut,
    ApprovalList,
    ApprovalOut,
    DecideAllBody,
    DecisionBody,
)
from opsgate.api.state import AppState, app_state
from opsgate.domain import grants, policy, roles
from opsgate.domain.runs import ApprovalStatus
from opsgate.errors import Conflict, InvalidInput, NotFound
from opsgate.store.protocol import Store
from opsgate.store.records import ApprovalItem, ApprovalRequest, User

router = APIRouter(tags=["approvals"])


async def _user_name(store: Store, user_id: str, cache: dict[str, str] | None = None) -> str:
    if cache is not None and user_id in cache:
        return cache[user_id]
    try:
        name = (await store.get_user(user_id)).username
    except NotFound:
        name = user_id
    if cache is not None:
        cache[user_id] = name
    return name


def _may_decide(viewer: User | None, item: ApprovalItem) -> dict[str, Any]:
    """`may_decide` and `decide_why`: whether `viewer`'s role in the item's scope lets them
    decide it, and why (`approver for prod/payments`, `you are viewer in prod/shop`)."""
    if viewer is None:
        return {}
    may, why = grants.why(
        viewer.role, viewer.grants, item.context, scopes.item_namespace(item), roles.can_approve
    )
    return {"may_decide": may, "decide_why": why}


async def approval_out(
    store: Store,
    request: ApprovalRequest,
    names: dict[str, str] | None = None,
    *,
    viewer: User | None = None,
) -> ApprovalOut:
    """An approval request as the API shows it (proposer's name, namespaces, call states);
    with `viewer`, each item says whether that user's role in its scope lets them decide."""
    return ApprovalOut(
        id=request.id,
        run_id=request.run_id,
        conversation_id=request.conversation_id,
        proposed_by=request.proposed_by,
        proposed_by_name=await _user_name(store, request.proposed_by, names),
        created_at=request.created_at,
        expires_at=request.expires_at,
        status=request.status,
        client_name=request.client_name,
        client_version=request.client_version,
        items=[
            ApprovalItemOut(
                call_id=item.call_id,
                tool=item.tool,
                args=item.args,
                context=item.context,
                namespace=scopes.item_namespace(item),
                destructive=item.destructive,
                call_hash=item.call_hash,
                cluster=item.cluster,
                preview=item.preview,
                preview_state=item.preview_state,
                command=item.command,
                status=item.status,
                call_status=item.call_status,
                decision=item.decision,
                requirement=item.requirement,
                decisions=list(item.decisions),
                progress=(
                    policy.progress(item.requirement, item.votes()) if item.requirement else []
                ),
                **_may_decide(viewer, item),
            )
            for item in request.items
        ],
    )


def _check_reason(approve: bool, reason: str | None, *, destructive: bool) -> None:
    """Rejections and destructive approvals need a reason (the engine checks this too)."""
    if (not approve or destructive) and not (reason or "").strip():
        what = "a rejection" if not approve else "approving a destructive change"
        raise InvalidInput("reason", f"{what} needs a reason")


async def decide_call(
    state: AppState,
    user: User,
    approval_id: str,
    call_id: str,
    approve: bool,
    reason: str | None,
) -> ApprovalRequest:
    """The one way a person's decision on one call is taken, by this route and by Slack
    (`routes.slack`): the request must be one the user may see, the reason rule holds, then
    `Engine.decide` judges role, scope, distinct approver and policy and records it."""
    current = await scopes.approval(state.store, user, approval_id)
    item = next((i for i in current.items if i.call_id == call_id), None)
    if item is None:
        raise NotFound(f"call {call_id!r} is not part of approval {approval_id!r}")
    _check_reason(approve, reason, destructive=item.destructive)
    return await state.engine.decide(approval_id, call_id, user, approve, reason)


@router.get("/approvals", response_model=ApprovalList)
async def list_approvals(
    request: Request,
    principal: auth.Viewer,
    status: ApprovalStatus | None = None,
    conversation_id: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=100, ge=1, le=500),
) -> ApprovalList:
    store = app_state(request).store
    found = await store.list_approvals(status=status, conversation_id=conversation_id, limit=limit)
    user = principal.user
    names: dict[str, str] = {}
    return ApprovalList(
        items=[
            await approval_out(store, a, names, viewer=user)
            for a in found
            if scopes.sees_approval(user, a)
        ]
    )


@router.get("/approvals/{approval_id}", response_model=ApprovalOut)
async def get_approval(
    request: Request,
    principal: auth.Viewer,
    approval_id: RecordId,
) -> ApprovalOut:
    store = app_state(request).store
    found = await scopes.approval(store, principal.user, approval_id)
    return await approval_out(store, found, viewer=principal.user)


@router.post("/approvals/{approval_id}/decision", response_model=ApprovalAnswer)
async def decide(
    body: DecisionBody,
    request: Request,
    principal: auth.Decider,
    approval_id: RecordId,
) -> ApprovalAnswer:
    """Approve or reject one call of a request; the answer shows what was decided."""
    state = app_state(request)
    decided = await decide_call(
        state, principal.user, approval_id, body.call_id, body.approve, body.reason
    )
    answer = await approval_out(state.store, decided, viewer=principal.user)
    return ApprovalAnswer(approval=answer, decided=[body.call_id])


@router.post("/approvals/{approval_id}/decide-all", response_model=ApprovalAnswer)
async def decide_all(
    body: DecideAllBody,
    request: Request,
    principal: auth.Decider,
    approval_id: RecordId,
) -> ApprovalAnswer:
    """One decision recorded per pending call of the request (never a blanket approval)."""
    state = app_state(request)
    current = await scopes.approval(state.store, principal.user, approval_id)
    pending = [item.call_id for item in current.items if item.status == "pending"]
    _check_reason(
        body.approve,
        body.reason,
        destructive=any(i.destructive for i in current.items if i.status == "pending"),
    )
    if not pending:
        raise Conflict(f"approval {approval_id!r} has no pending call")
    for call_id in pending:
        current = await state.engine.decide(
            approval_id, call_id, principal.user, body.approve, body.reason
        )
    answer = await approval_out(state.store, current, viewer=principal.user)
    return ApprovalAnswer(approval=answer, decided=pending)
