"""Who is asking: session cookies (with CSRF) or bearer API tokens, and role checks.

Routes declare `Depends(require_viewer)` (any signed-in user), `require_operator`,
`require_approver`, `require_decider` or `require_admin`; each returns the `Principal`.
Cookie-authenticated requests that change state must carry the session's CSRF token in
`X-CSRF-Token` matching the `opsgate_csrf` cookie (double submit, bound to the signed
session), and the session must still be live in the store. API tokens are looked up by their
SHA-256 (`accounts.token_hash`) and act with their user's role as it is now (a demoted
owner's token loses what the role lost at once). A token its owner did not make (the CLI made
it on the database) authenticates as its user but cannot decide approvals or make further
tokens. With proxy sign-in configured, the proxy's identity headers from any other address
are refused with 401 on every route (`proxy_auth.refuse_forged`).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from opsgate.api import accounts, proxy_auth
from opsgate.api.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, session_hash
from opsgate.api.state import AppState, app_state
from opsgate.domain import grants, roles
from opsgate.errors import Forbidden, Unauthenticated
from opsgate.store.protocol import Store
from opsgate.store.records import ApiToken, User

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The authenticated user of one request and how they proved it."""

    user: User
    via: Literal["session", "token"]
    token: ApiToken | None = None
    """The API token of a `via="token"` request."""


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _borrowed(principal: Principal) -> ApiToken | None:
    """The request's API token when its owner did not make it (the CLI did); else None."""
    token = principal.token
    return token if token is not None and not token.made_by_owner else None


def _borrowed_refusal(token: ApiToken, user: User, action: str) -> Forbidden:
    return Forbidden(
        f"API token {token.prefix!r} was not created by {user.username!r} themselves (it was "
        f"made on the database), so it cannot {action}: sign in, or make a token of your own "
        "(`opsgate tokens login`, or POST /api/v1/tokens while signed in)"
    )


def refuse_borrowed_token(principal: Principal, action: str) -> None:
    """`Forbidden` when the request's API token was not made by its own user."""
    token = _borrowed(principal)
    if token is not None:
        raise _borrowed_refusal(token, principal.user, action)


async def token_principal(store: Store, authorization: str) -> Principal:
    """The user of an `Authorization: Bearer <API token>` header; else `Unauthenticated`.

    Also used by the MCP gateway (`opsgate.api.gateway`), whose HTTP clients send API tokens.
    """
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    found = await store.find_token(accounts.token_hash(credential.strip()))
    if found is None:
        raise Unauthenticated("the API token is unknown, revoked or expired")
    token, user = found
    if user.disabled:
        raise Unauthenticated("the token's user is disabled")
    return Principal(user=user, via="token", token=token)


async def _session_principal(state: AppState, request: Request, cookie: str) -> Principal:
    session = state.sessions.read(cookie)
    if session is None:
        raise Unauthenticated("the session has expired; sign in again")
    user = await state.store.find_session(session_hash(session))
    if user is None or user.id != session.uid:
        raise Unauthenticated("the session has ended; sign in again")
    if request.method not in _SAFE_METHODS:
        header = request.headers.get(CSRF_HEADER, "")
        cookie_token = request.cookies.get(CSRF_COOKIE, "")
        if not (
            header
            and hmac.compare_digest(header, cookie_token)
            and hmac.compare_digest(header, session.csrf)
        ):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header")
    return Principal(user=user, via="session")


async def current_principal(request: Request) -> Principal:
    """The request's user, from a bearer token or a session cookie; else `Unauthenticated`."""
    state = app_state(request)
    # Identity headers from anyone but the configured proxy are an attempt to name oneself.
    proxy_auth.refuse_forged(state.settings.proxy_auth, request)
    authorization = request.headers.get("authorization")
    if authorization:
        return await token_principal(state.store, authorization)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("sign in or send an API token")
    principal = await _session_principal(state, request, cookie)
    proxy_auth.refuse_switched(state.settings.proxy_auth, request, principal.user)
    return principal


async def require_viewer(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    return principal


def _with_role(
    principal: Principal,
    allowed: Callable[[roles.Role], bool],
    action: str,
    *,
    scoped: bool = True,
) -> Principal:
    """The principal when `allowed` says its role may do `action` somewhere; else `Forbidden`.

    With `scoped`, a role granted for one context or namespace counts here; the route, and
    the engine, then check the scope of what the request touches (`api.scopes`,
    `domain.grants`). Without it only the global role counts.
    """
    user = principal.user
    role = grants.highest(user.role, user.grants) if scoped else user.role
    if not allowed(role):
        raise Forbidden(f"role {user.role!r} may not {action}")
    return principal


async def require_operator(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    return _with_role(principal, roles.can_operate, "start runs or propose calls")


async def require_approver(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    return _with_role(principal, roles.can_approve, "decide approvals")


async def require_decider(
    request: Request,
    principal: Annotated[Principal, Depends(require_approver)],
) -> Principal:
    """An approver deciding on their own credential: a session, or a token they made.

    A token made on someone's behalf could otherwise let its maker approve their own change
    as the token's user (defeating the distinct-approver rule); the refusal is audited.
    """
    token = _borrowed(principal)
    if token is None:
        return principal
    approval_id = str(request.path_params.get("approval_id", ""))
    store = app_state(request).store
    approval = await store.get_approval(approval_id)
    await accounts.audit_refused_decision(
        store,
        accounts.Actor.of(principal.user),
        token,
        approval_id,
        "the API token was not created by its owner",
        conversation_id=approval.conversation_id,
        run_id=approval.run_id,
    )
    raise _borrowed_refusal(token, principal.user, "decide approvals")


async def require_admin(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    return _with_role(principal, roles.can_administer, "administer opsgate", scoped=False)


Viewer = Annotated[Principal, Depends(require_viewer)]
"""Any signed-in user (routes declare `principal: auth.Viewer`)."""
Operator = Annotated[Principal, Depends(require_operator)]
Approver = Annotated[Principal, Depends(require_approver)]
Decider = Annotated[Principal, Depends(require_decider)]
"""An approver whose credential is their own (routes that decide approvals)."""
Admin = Annotated[Principal, Depends(require_admin)]
