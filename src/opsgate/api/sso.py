"""Signing in people an identity provider vouches for, and whether passwords still work.

Called by the single sign-on callback and the trusted-proxy sign-in (`routes.sso`) once the
identity is proven (a verified ID token, headers from a trusted proxy address), and by the
admin route and `opsgate local-login` for the `local_login` option.

A person is found by how they sign in and their provider's subject, never by name, so a
provider account cannot take over a local one that shares its name. Their role comes from
their groups (`Settings.sso_roles`, the highest mapped role wins) at every sign-in, so a
demotion at the provider takes effect at the next sign-in; a person in no mapped group is
refused and nothing is created for them (an existing account keeps its last role, unused
until it signs in again with a mapped group). Every sign-in and refusal is audited.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi.responses import HTMLResponse

from opsgate.api import accounts
from opsgate.api.passwords import Passwords
from opsgate.domain import audit_payloads as ap
from opsgate.domain.audit_payloads import Via
from opsgate.domain.roles import Role
from opsgate.domain.sign_in import SignIn, role_for_groups
from opsgate.errors import Conflict, InvalidInput, SignInRefused
from opsgate.settings import Settings
from opsgate.store.protocol import Store
from opsgate.store.records import User

LOCAL_LOGIN_OPTION = "local_login"
MAX_SUBJECT_CHARS = 255
"""OpenID Connect's limit on `sub` (and the `users.subject` column's)."""
MAX_GROUPS = 200
"""Groups kept per person (a provider listing thousands would bloat every user row)."""
_NOT_USERNAME = re.compile(r"[^A-Za-z0-9_.@-]+")


@dataclass(frozen=True)
class ExternalIdentity:
    """Who the identity provider (or the trusted proxy) says is signing in."""

    sign_in: SignIn
    subject: str
    """The provider's stable id (the ID token's `sub`, the proxy's user header)."""
    preferred_name: str
    """What to call the person in opsgate when their account is made."""
    groups: tuple[str, ...]


def _username_base(preferred: str, subject: str) -> str:
    for candidate in (preferred, subject):
        cleaned = _NOT_USERNAME.sub("-", candidate).strip("-_.@")[:56]
        if cleaned:
            return cleaned
    return "user"


async def _free_username(store: Store, identity: ExternalIdentity) -> str:
    """The person's preferred name, or it with a suffix when a user already has it."""
    base = _username_base(identity.preferred_name, identity.subject)
    taken = {user.username.lower() for user in await store.list_users()}
    for candidate in (base, f"{base}-{identity.sign_in}", *(f"{base}-{n}" for n in range(2, 50))):
        if candidate.lower() not in taken:
            return candidate
    raise Conflict(f"no free username for {identity.subject!r} (tried {base!r} and 50 more)")


async def _refuse(store: Store, identity: ExternalIdentity, address: str, reason: str) -> None:
    payload = ap.SsoRefused(
        address=address,
        sign_in=identity.sign_in,
        subject=identity.subject,
        groups=list(identity.groups),
        reason=reason,
    )
    await store.append_audit(payload.kind, payload.payload(), actor_id=None, actor_name="sso")
    raise SignInRefused(reason)


async def sign_in(
    store: Store,
    passwords: Passwords,
    mapping: Mapping[str, Role],
    identity: ExternalIdentity,
    address: str,
) -> User:
    """The opsgate user for a proven identity, made at first sign-in, with its role re-derived.

    Raises:
        InvalidInput: the subject is empty or longer than `MAX_SUBJECT_CHARS`.
        SignInRefused: none of the person's groups is mapped to a role, or their account is
            disabled (audited as `user.sso_refused`).
    """
    if not 0 < len(identity.subject) <= MAX_SUBJECT_CHARS:
        raise InvalidInput(
            "subject", f"an identity provider's subject holds 1 to {MAX_SUBJECT_CHARS} characters"
        )
    groups = tuple(dict.fromkeys(identity.groups))[:MAX_GROUPS]
    identity = ExternalIdentity(identity.sign_in, identity.subject, identity.preferred_name, groups)
    role = role_for_groups(groups, mapping)
    existing = await store.find_external_user(identity.sign_in, identity.subject)
    if role is None:
        shown = ", ".join(repr(g) for g in groups[:10]) or "none"
        await _refuse(
            store,
            identity,
            address,
            f"{identity.subject!r} is in no group that has access to opsgate (groups: {shown}); "
            "ask an administrator to map one of your groups to a role",
        )
    assert role is not None  # _refuse raised otherwise
    if existing is not None and existing.disabled:
        await _refuse(
            store, identity, address, f"the opsgate account {existing.username!r} is disabled"
        )
    if existing is None:
        via: Via = "oidc" if identity.sign_in == "oidc" else "proxy"
        user = await accounts.create_user(
            store,
            passwords,
            await _free_username(store, identity),
            role,
            None,
            actor=None,
            via=via,
            sign_in=identity.sign_in,
            subject=identity.subject,
            groups=groups,
        )
    else:
        user = await store.update_user(existing.id, role=role, groups=groups)
    login = ap.SsoLogin(
        address=address,
        sign_in=identity.sign_in,
        subject=identity.subject,
        groups=list(groups),
        role=role,
        created=existing is None,
    )
    await store.append_audit(
        login.kind, login.payload(), actor_id=user.id, actor_name=user.username
    )
    return user


def public_base(settings: Settings) -> str:
    """The URL people reach opsgate at (for redirect URIs), without a trailing slash."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def external_sign_in_configured(settings: Settings) -> bool:
    return settings.oidc is not None or settings.proxy_auth is not None


async def local_login_enabled(store: Store) -> bool:
    """Whether local password sign-in is on (it is until an admin turns it off)."""
    return await store.get_option(LOCAL_LOGIN_OPTION) is not False


async def set_local_login(
    store: Store, settings: Settings, enabled: bool, *, actor: accounts.Actor, via: Via
) -> None:
    """Turn local password sign-in on or off; audited as `settings.local_login`.

    Raises:
        Conflict: turning it off while neither single sign-on nor proxy sign-in is configured
            (nobody could sign in any more).
    """
    if not enabled and not external_sign_in_configured(settings):
        raise Conflict(
            "local sign-in stays on until single sign-on (OPSGATE_OIDC__*) or proxy sign-in "
            "(OPSGATE_PROXY_AUTH__*) is configured: otherwise nobody could sign in"
        )
    await store.set_option(LOCAL_LOGIN_OPTION, enabled)
    payload = ap.LocalLoginChanged(enabled=enabled, via=via)
    await store.append_audit(
        payload.kind, payload.payload(), actor_id=actor.id, actor_name=actor.name
    )


def page(
    title: str, message: str, *, status: int = 200, refresh_to: str | None = None
) -> HTMLResponse:
    """A small page for the browser at the end of a sign-in redirect (no script: the CSP)."""
    refresh = (
        f'<meta http-equiv="refresh" content="0;url={html.escape(refresh_to)}">'
        if refresh_to
        else ""
    )
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)} · opsgate</title>{refresh}"
        '<link rel=stylesheet href="/assets/app.css"></head>'
        '<body><main class="center"><div class="card narrow" role="main">'
        f'<h1 id="sso-title">{html.escape(title)}</h1>'
        f'<p id="sso-message">{html.escape(message)}</p>'
        '<p><a href="/#/login">Back to sign-in</a></p></div></main></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
