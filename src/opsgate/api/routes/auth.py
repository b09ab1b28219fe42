"""Sign-in, sign-out, who-am-I, and the one-time first-admin setup.

The only state-changing routes reachable without a user are `POST /auth/login` and
`POST /setup`; both are throttled per account and per client address (`ratelimit`). Every
session opened here is recorded in the store, which is what makes logging out final.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from opsgate.api import accounts, auth, sso
from opsgate.api.schemas import LoginAnswer, LoginBody, LogoutAnswer, Me, SetupBody, SetupStatus
from opsgate.api.sessions import CSRF_COOKIE, SESSION_COOKIE, session_hash
from opsgate.api.state import AppState, app_state
from opsgate.domain import audit_payloads as ap
from opsgate.errors import Conflict, Forbidden, NotFound, Unauthenticated
from opsgate.store.records import User, UserWithSecret

router = APIRouter(tags=["auth"])


def me_of(user: User) -> Me:
    return Me(
        id=user.id,
        username=user.username,
        role=user.role,
        sign_in=user.sign_in,
        grants=list(user.grants),
    )


async def open_session(response: Response, state: AppState, user: User, address: str) -> None:
    cookie, session = state.sessions.issue(user.id)
    expires_at = datetime.fromtimestamp(session.exp, UTC)
    await state.store.create_session(session_hash(session), user.id, address, expires_at)
    secure = bool(state.settings.public_url and state.settings.public_url.startswith("https://"))
    for name, value, httponly in (
        (SESSION_COOKIE, cookie, True),
        (CSRF_COOKIE, session.csrf, False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=state.sessions.ttl_s,
            path="/",
            samesite="strict",
            secure=secure,
            httponly=httponly,
        )


@router.post("/auth/login", response_model=LoginAnswer)
async def login(body: LoginBody, request: Request, response: Response) -> LoginAnswer:
    """Check a username and password; set the session and CSRF cookies."""
    state = app_state(request)
    address = auth.client_address(request)
    if not await sso.local_login_enabled(state.store):
        raise Forbidden(
            "password sign-in is turned off on this server: use single sign-on "
            "(an administrator turns it back on with `opsgate local-login on`)"
        )
    user: UserWithSecret | None
    try:
        user = await state.store.get_user_by_name(body.username)
    except NotFound:
        user = None
    known = user is not None and await state.store.signed_in_from(user.id, address)
    state.limiter.check(body.username, address, known=known)
    if user is None:
        await state.passwords.verify_async(None, body.password)
        state.limiter.failed(body.username, address)
        raise Unauthenticated("wrong username or password")
    if not await state.passwords.verify_async(user.password_hash, body.password) or user.disabled:
        state.limiter.failed(body.username, address, known=known)
        raise Unauthenticated("wrong username or password")
    state.limiter.succeeded(body.username, address, known=known)
    await open_session(response, state, user, address)
    login = ap.UserLogin(address=address)
    await state.store.append_audit(
        login.kind, login.payload(), actor_id=user.id, actor_name=user.username
    )
    return LoginAnswer(user=me_of(user))


@router.post(
    "/auth/logout",
    status_code=204,
    responses={200: {"model": LogoutAnswer, "description": "a single sign-on user's logout"}},
)
async def logout(request: Request, principal: auth.Viewer) -> Response:
    """End the session for good (the cookie stops working even if replayed, after restarts).

    A single sign-on user gets 200 with the provider's logout URL (when it has one), where the
    browser goes next to end the provider's session too; everyone else 204.
    """
    state = app_state(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = state.sessions.read(cookie) if cookie else None
    if session is not None:
        await state.store.end_session(session_hash(session))
    provider_logout = None
    if principal.user.sign_in == "oidc" and state.oidc is not None:
        provider_logout = await state.oidc.logout_url(sso.public_base(state.settings) + "/login")
    response: Response = (
        Response(status_code=204)
        if provider_logout is None
        else JSONResponse(LogoutAnswer(provider_logout_url=provider_logout).model_dump())
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=Me)
async def me(principal: auth.Viewer) -> Me:
    return me_of(principal.user)


@router.get("/setup/status", response_model=SetupStatus)
async def setup_status(request: Request) -> SetupStatus:
    """Public: whether the first admin still has to be created."""
    return SetupStatus(needs_setup=await app_state(request).store.count_users() == 0)


@router.post("/setup", response_model=LoginAnswer)
async def setup(body: SetupBody, request: Request, response: Response) -> LoginAnswer:
    """Create the first admin with the one-time setup token printed at start-up."""
    state = app_state(request)
    address = auth.client_address(request)
    state.limiter.check("@setup", address)
    async with state.setup_lock:
        if await state.store.count_users() > 0 or state.setup_token_hash is None:
            raise Conflict("setup is finished; sign in instead")
        offered = hashlib.sha256(body.setup_token.encode()).hexdigest()
        if not hmac.compare_digest(offered, state.setup_token_hash):
            state.limiter.failed("@setup", address)
            raise Forbidden("the setup token is wrong")
        user = await accounts.create_user(
            state.store,
            state.passwords,
            body.username,
            "admin",
            body.password,
            actor=None,
            via="setup",
        )
        state.setup_token_hash = None
    await open_session(response, state, user, address)
    return LoginAnswer(user=me_of(user))
