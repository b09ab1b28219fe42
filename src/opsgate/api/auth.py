"""Who is asking: session cookies (with CSRF) or bearer API tokens, and role checks.

Routes declare `Depends(require_viewer)` (any signed-in user), `require_operator`,
`require_approver` or `require_admin`; each returns the `Principal`. Cookie-authenticated
requests that change state must carry the session's CSRF token in `X-CSRF-Token` matching
the `opsgate_csrf` cookie (double submit, bound to the signed session). API tokens are random,
shown once, and stored only as SHA-256.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from opsgate.api.passwords import Passwords
from opsgate.api.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, password_fingerprint
from opsgate.api.state import app_state
from opsgate.domain import roles
from opsgate.errors import Forbidden, NotFound, Unauthenticated
from opsgate.store.records import User

TOKEN_PREFIX = "og_"  # noqa: S105 - a visible marker, not a secret
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The authenticated user of one request and how they proved it."""

    user: User
    via: Literal["session", "token"]
    token_id: str | None = None


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_api_token(token: str) -> str:
    """What the store keeps of an API token (for the CLI, which creates tokens directly)."""
    return token_hash(token)


def hash_password(password: str) -> str:
    """An argon2id hash with the default parameters (for the CLI's `users add`)."""
    return Passwords().hash(password)


def token_display_prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 6]


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def current_principal(request: Request) -> Principal:
    """The request's user, from a bearer token or a session cookie; else `Unauthenticated`."""
    state = app_state(request)
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        found = await state.store.find_token(token_hash(credential.strip()))
        if found is None:
            raise Unauthenticated("the API token is unknown, revoked or expired")
        token, user = found
        if user.disabled:
            raise Unauthenticated("the token's user is disabled")
        return Principal(user=user, via="token", token_id=token.id)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthenticated("sign in or send an API token")
    session = state.sessions.read(cookie)
    if session is None:
        raise Unauthenticated("the session has expired; sign in again")
    try:
        user = await state.store.get_user(session.uid)
    except NotFound as e:
        raise Unauthenticated("the session's user no longer exists") from e
    if user.disabled or not hmac.compare_digest(
        session.pw, password_fingerprint(user.password_hash)
    ):
        raise Unauthenticated("the session is no longer valid; sign in again")
    if request.method not in _SAFE_METHODS:
        header = request.headers.get(CSRF_HEADER, "")
        cookie_token = request.cookies.get(CSRF_COOKIE, "")
        if not (
            header
            and hmac.compare_digest(header, cookie_token)
            and hmac.compare_digest(header, session.csrf)
        ):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header")
    public_user = User.model_validate(user.model_dump(exclude={"password_hash"}))
    return Principal(user=public_user, via="session")


async def require_viewer(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    return principal


def _with_role(
    principal: Principal, allowed: Callable[[roles.Role], bool], action: str
) -> Principal:
    """The principal when `allowed` says its role may do `action`; else `Forbidden`."""
    if not allowed(principal.user.role):
        raise Forbidden(f"role {principal.user.role!r} may not {action}")
    return principal


async def require_operator(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    return _with_role(principal, roles.can_operate, "start runs or propose calls")


async def require_approver(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    return _with_role(principal, roles.can_approve, "decide approvals")


async def require_admin(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    return _with_role(principal, roles.can_administer, "administer opsgate")


Viewer = Annotated[Principal, Depends(require_viewer)]
"""Any signed-in user (routes declare `principal: auth.Viewer`)."""
Operator = Annotated[Principal, Depends(require_operator)]
Approver = Annotated[Principal, Depends(require_approver)]
Admin = Annotated[Principal, Depends(require_admin)]
