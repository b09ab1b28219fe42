"""API tokens: every user makes, lists and revokes their own; admins list and revoke anyone's.

Nobody makes a token for someone else here (an admin's token for an approver would let the
admin approve their own change as that approver); `opsgate tokens create` on the database is
the only way to make one on someone's behalf, and such a token cannot decide approvals. Every
change is audited through `accounts`.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from opsgate.api import accounts, auth
from opsgate.api.routes import RecordId
from opsgate.api.schemas import CreatedToken, NewToken, TokenList
from opsgate.api.state import app_state
from opsgate.domain import roles
from opsgate.errors import Forbidden
from opsgate.store.records import ApiToken

router = APIRouter(tags=["tokens"])


@router.get("/tokens", response_model=TokenList)
async def list_tokens(
    request: Request,
    principal: auth.Viewer,
    user_id: str | None = None,
) -> TokenList:
    """Your own tokens; an admin sees everyone's (or one user's with `user_id`)."""
    if not roles.can_administer(principal.user.role):
        if user_id not in (None, principal.user.id):
            raise Forbidden("only an admin may list other users' tokens")
        user_id = principal.user.id
    return TokenList(items=await app_state(request).store.list_tokens(user_id))


@router.post("/tokens", response_model=CreatedToken, status_code=201)
async def create_token(body: NewToken, request: Request, principal: auth.Viewer) -> CreatedToken:
    """Make a token of your own; the answer is the only time the token itself is shown."""
    state = app_state(request)
    auth.refuse_borrowed_token(principal, "make tokens")
    owner = (
        principal.user
        if body.user_id in (None, principal.user.id)
        else await state.store.get_user(body.user_id)
    )
    expires_at = (
        state.clock() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    )
    token, record = await accounts.create_token(
        state.store,
        owner,
        body.name,
        expires_at,
        actor=accounts.Actor.of(principal.user),
        via="api",
    )
    return CreatedToken(token=token, record=record)


@router.delete("/tokens/{token_id}", response_model=ApiToken)
async def revoke_token(request: Request, principal: auth.Viewer, token_id: RecordId) -> ApiToken:
    """Revoke one of your tokens; an admin may revoke anyone's."""
    state = app_state(request)
    if not roles.can_administer(principal.user.role):
        own = {token.id for token in await state.store.list_tokens(principal.user.id)}
        if token_id not in own:
            raise Forbidden("only an admin may revoke other users' tokens")
    return await accounts.revoke_token(
        state.store, token_id, actor=accounts.Actor.of(principal.user), via="api"
    )
