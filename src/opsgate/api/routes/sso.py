"""Single sign-on and trusted-proxy sign-in routes, and the sign-in methods the login view shows.

`GET /auth/methods` (public) says which ways of signing in are on. `GET /auth/oidc/start`
sends the browser to the provider with a fresh `LoginAttempt` in a signed cookie;
`GET /auth/oidc/callback` checks that the `state` it returns with is that attempt's, has
`api.oidc` exchange the code and verify the ID token, and signs the person in (`api.sso`).
`GET /auth/proxy` signs in the person an authenticating proxy names (`api.proxy_auth`). These
end browser redirects, so they answer small pages rather than JSON: on success a page that
moves on to the Command Center (a same-site navigation, so the `SameSite=Strict` session
cookie travels with it), otherwise a page that says why there is no access.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from opsgate.api import auth, oidc, proxy_auth, sso
from opsgate.api.routes.auth import open_session
from opsgate.api.schemas import OidcMethod, SignInMethods
from opsgate.api.state import AppState, app_state
from opsgate.errors import (
    AuthError,
    IdentityProviderError,
    InvalidInput,
    NotFound,
    SignInRefused,
    Unauthenticated,
)

router = APIRouter(tags=["auth"])
START_PATH = "/api/v1/auth/oidc/start"
PROXY_PATH = "/api/v1/auth/proxy"
_ATTEMPT_PATH = "/api/v1/auth/oidc"


@router.get("/auth/methods", response_model=SignInMethods)
async def methods(request: Request) -> SignInMethods:
    """Public: which ways of signing in this server offers."""
    state = app_state(request)
    settings = state.settings
    return SignInMethods(
        local=await sso.local_login_enabled(state.store),
        oidc=(
            OidcMethod(display_name=settings.oidc.display_name, start_url=START_PATH)
            if settings.oidc is not None
            else None
        ),
        proxy=settings.proxy_auth is not None,
    )


def _failure(error: AuthError | InvalidInput) -> Response:
    if isinstance(error, SignInRefused):
        return sso.page("No access to opsgate", str(error), status=403)
    if isinstance(error, IdentityProviderError):
        return sso.page("Sign-in is unavailable", str(error), status=502)
    status = 422 if isinstance(error, InvalidInput) else 401
    return sso.page("Sign-in failed", str(error), status=status)


async def _signed_in(state: AppState, identity: sso.ExternalIdentity, address: str) -> Response:
    user = await sso.sign_in(
        state.store, state.passwords, state.settings.sso_roles, identity, address
    )
    response = sso.page("Signed in", f"Signed in as {user.username}.", refresh_to="/")
    await open_session(response, state, user, address)
    return response


def _oidc(state: AppState) -> tuple[oidc.OidcClient, oidc.AttemptCodec]:
    if state.oidc is None or state.oidc_attempts is None:
        raise NotFound("single sign-on is not configured on this server")
    return state.oidc, state.oidc_attempts


@router.get("/auth/oidc/start", include_in_schema=False)
async def oidc_start(request: Request) -> Response:
    """Send the browser to the identity provider to sign in."""
    state = app_state(request)
    client, attempts = _oidc(state)
    attempt = attempts.new()
    try:
        url = await client.begin(attempt)
    except IdentityProviderError as e:
        return _failure(e)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        oidc.ATTEMPT_COOKIE,
        attempts.encode(attempt),
        max_age=oidc.ATTEMPT_TTL_S,
        path=_ATTEMPT_PATH,
        # Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
        samesite="lax",
        secure=sso.public_base(state.settings).startswith("https://"),
        httponly=True,
    )
    return response


def _identity(state: AppState, claims: dict[str, Any]) -> sso.ExternalIdentity:
    settings = state.settings.oidc
    assert settings is not None
    subject = str(claims["sub"])
    preferred = claims.get(settings.username_claim) or claims.get("email") or subject
    raw_groups = claims.get(settings.groups_claim) or []
    if isinstance(raw_groups, str):
        raw_groups = [raw_groups]
    groups = tuple(str(g) for g in raw_groups) if isinstance(raw_groups, list) else ()
    return sso.ExternalIdentity(
        sign_in="oidc", subject=subject, preferred_name=str(preferred), groups=groups
    )


@router.get("/auth/oidc/callback", include_in_schema=False)
async def oidc_callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """Where the identity provider sends the browser back with an authorization code."""
    app = app_state(request)
    client, attempts = _oidc(app)
    cookie = request.cookies.get(oidc.ATTEMPT_COOKIE, "")
    attempt = attempts.decode(cookie) if cookie else None
    try:
        if attempt is None:
            raise Unauthenticated(
                "this sign-in was not started in this browser or took longer than "
                f"{oidc.ATTEMPT_TTL_S // 60} minutes: start again"
            )
        if state is None or not hmac.compare_digest(state.encode(), attempt.state.encode()):
            raise Unauthenticated(
                "the sign-in's state does not match the one this browser started "
                "(a forged or replayed redirect): start again"
            )
        if error is not None:
            detail = f"{error}: {error_description}" if error_description else error
            return _with_attempt_cleared(
                sso.page(
                    "Sign-in failed",
                    f"The identity provider did not sign you in ({detail[:300]}).",
                    status=401,
                )
            )
        if not code:
            raise Unauthenticated("the identity provider sent no authorization code")
        claims = await client.finish(code, attempt)
        response = await _signed_in(app, _identity(app, claims), auth.client_address(request))
    except (AuthError, InvalidInput) as e:
        response = _failure(e)
    return _with_attempt_cleared(response)


def _with_attempt_cleared(response: Response) -> Response:
    """Each attempt is used once: the callback always drops its cookie."""
    response.delete_cookie(oidc.ATTEMPT_COOKIE, path=_ATTEMPT_PATH)
    return response


@router.get("/auth/proxy", include_in_schema=False)
async def proxy_sign_in(request: Request) -> Response:
    """Sign in the person the authenticating proxy in front of opsgate names."""
    state = app_state(request)
    settings = state.settings.proxy_auth
    if settings is None:
        raise NotFound("proxy sign-in is not configured on this server")
    try:
        identity = proxy_auth.identity(settings, request)
        return await _signed_in(state, identity, auth.client_address(request))
    except (AuthError, InvalidInput) as e:
        return _failure(e)
