"""Accounts: usernames, users, passwords, API tokens, and the audit event of every change.

The one place users and tokens are made and changed. The admin, auth and token routes, the
`opsgate users` / `opsgate tokens` commands and the demo's admin (`opsgate demo`) all call it,
so every surface validates the same way and each event kind has one payload, whoever makes the
change (`Actor`) and through which door (`Via`).

Tokens are `og_` and 43 random URL-safe characters, shown once, stored as SHA-256, and listed
by their first `DISPLAY_PREFIX_LENGTH` characters. A signed-in user makes tokens only for
themselves; the CLI (whoever holds the database) may make one for anyone, but such a token is
recorded as not made by its owner (`ApiToken.made_by_owner`), so it cannot decide approvals.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from opsgate.api.passwords import Passwords
from opsgate.domain import audit_payloads as ap
from opsgate.domain import grants
from opsgate.domain.audit_payloads import Via
from opsgate.domain.grants import Grant
from opsgate.domain.roles import Role
from opsgate.domain.sign_in import SignIn
from opsgate.errors import Conflict, Forbidden, InvalidInput, NotFound
from opsgate.store.protocol import Store
from opsgate.store.records import ApiToken, User
from opsgate.tools import validate

TOKEN_PREFIX = "og_"  # noqa: S105 - a visible marker, not a secret
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 9
USERNAME_RULE = (
    "must be 1 to 64 ASCII letters, digits, '_', '.', '@' or '-', starting with a letter or digit"
)
# ASCII only on purpose: look-alike letters (Cyrillic 'а'), invisible characters and spaces
# would let two accounts read the same on an approval card or in the audit log.
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


@dataclass(frozen=True)
class Actor:
    """Who makes an account change: a signed-in user, or the command line (no user id)."""

    id: str | None
    name: str

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(id=user.id, name=user.username)


CLI = Actor(id=None, name="cli")


def username_problem(value: str) -> str | None:
    """What is wrong with `value` as a username, or None when it is one."""
    return None if _USERNAME.fullmatch(value) else USERNAME_RULE


def check_username(value: str) -> str:
    """`value` if it is a valid username; else `InvalidInput` naming the `username` field."""
    problem = username_problem(value)
    if problem is not None:
        raise InvalidInput("username", problem)
    return value


def _username_for_pydantic(value: str) -> str:
    problem = username_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Username = Annotated[str, AfterValidator(_username_for_pydantic)]
"""A username in a request body (the same rule as `check_username`)."""


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a token (and looks tokens up by)."""
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    return token[:DISPLAY_PREFIX_LENGTH]


async def _audit(
    store: Store,
    payload: ap.AuditPayload,
    actor: Actor,
    *,
    conversation_id: str | None = None,
    run_id: str | None = None,
) -> None:
    await store.append_audit(
        payload.kind,
        payload.payload(),
        actor_id=actor.id,
        actor_name=actor.name,
        conversation_id=conversation_id,
        run_id=run_id,
    )


async def create_user(
    store: Store,
    passwords: Passwords,
    username: str,
    role: Role,
    password: str | None,
    *,
    actor: Actor | None,
    via: Via,
    sign_in: SignIn = "local",
    subject: str | None = None,
    groups: tuple[str, ...] = (),
) -> User:
    """Create a user (`password` None: token-only) and audit it.

    `actor` None means the new user creates themselves (first-admin setup, a first single
    sign-on). A name that differs from an existing one only by case is refused too: they
    would look alike on every screen.
    """
    check_username(username)
    for existing in await store.list_users():
        if existing.username.lower() == username.lower():
            raise Conflict(f"a user named {existing.username!r} exists")
    password_hash = await passwords.hash_async(password) if password is not None else None
    user = await store.create_user(
        username, role, password_hash, sign_in=sign_in, subject=subject, groups=groups
    )
    payload = ap.UserCreated(user_id=user.id, username=user.username, role=user.role, via=via)
    await _audit(store, payload, actor or Actor.of(user))
    return user


async def update_user(
    store: Store,
    passwords: Passwords,
    user_id: str,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    actor: Actor,
    via: Via,
) -> User:
    """Change a user's role, disable or enable them, or set a password; audit what changed.

    Nobody changes their own role or disables themselves. A new password or disabling ends the
    user's sessions (the store does it in the same transaction).
    """
    if actor.id == user_id and (role is not None or disabled is not None):
        raise Forbidden("you cannot change your own role or disable yourself")
    before = await store.get_user(user_id)
    password_hash = await passwords.hash_async(password) if password is not None else None
    user = await store.update_user(
        user_id, role=role, disabled=disabled, password_hash=password_hash
    )
    changes: dict[str, Any] = {}
    if role is not None and role != before.role:
        changes["role"] = {"from": before.role, "to": role}
    if disabled is not None and disabled != before.disabled:
        changes["disabled"] = disabled
    if password_hash is not None:
        changes["password"] = "changed"  # noqa: S105 - a label
    model = ap.UserDisabled if disabled else ap.UserUpdated
    payload = model(user_id=user.id, username=user.username, changes=changes, via=via)
    await _audit(store, payload, actor)
    return user


GRANTABLE: tuple[Role, ...] = ("viewer", "operator", "approver")
"""The roles a grant may give: administering opsgate has no scope."""


class GrantScope(BaseModel):
    """Where a grant applies, checked as tool calls' contexts and namespaces are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context: validate.ContextName
    namespace: validate.Namespace | None = None


def grant_scope(context: str, namespace: str | None) -> GrantScope:
    """The scope, or `InvalidInput` naming the bad part."""
    try:
        return GrantScope(context=context, namespace=namespace)
    except ValidationError as e:
        first = e.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "scope"
        raise InvalidInput(field, str(first["msg"])) from e


async def grant_role(
    store: Store,
    user: User,
    role: Role,
    context: str,
    namespace: str | None,
    *,
    actor: Actor,
    via: Via,
) -> User:
    """Give `user` `role` in `context` (only in `namespace` when given); audited.

    Nobody grants themselves anything (as nobody changes their own role). A grant at a scope
    the user already holds one for replaces it; the event names the role it replaced.
    """
    if actor.id == user.id:
        raise Forbidden("you cannot grant yourself a role")
    if role not in GRANTABLE:
        raise InvalidInput(
            "role",
            f"{role!r} cannot be granted for a scope (one of {', '.join(GRANTABLE)}); "
            "administering opsgate is global (set the user's role), and to take a role back "
            "revoke the grant",
        )
    scope = grant_scope(context, namespace)
    grant = Grant(role=role, context=scope.context, namespace=scope.namespace)
    previous = next(
        (
            g.role
            for g in user.grants
            if (g.context, g.namespace) == (grant.context, grant.namespace)
        ),
        None,
    )
    updated = await store.grant_role(user.id, grant)
    payload = ap.UserGranted(
        user_id=user.id,
        username=user.username,
        role=role,
        context=grant.context,
        namespace=grant.namespace,
        previous=previous,
        via=via,
    )
    await _audit(store, payload, actor)
    return updated


async def revoke_grant(
    store: Store, user: User, context: str, namespace: str | None, *, actor: Actor, via: Via
) -> User:
    """Take back `user`'s grant at exactly this scope (`NotFound` if none); audited."""
    if actor.id == user.id:
        raise Forbidden("you cannot change your own grants")
    scope = grant_scope(context, namespace)
    held = next(
        (g for g in user.grants if (g.context, g.namespace) == (scope.context, scope.namespace)),
        None,
    )
    if held is None:
        where = grants.scope_text(scope.context, scope.namespace)
        raise NotFound(f"user {user.username!r} holds no grant for {where!r}")
    updated = await store.revoke_grant(user.id, scope.context, scope.namespace)
    payload = ap.UserGrantRevoked(
        user_id=user.id,
        username=user.username,
        role=held.role,
        context=scope.context,
        namespace=scope.namespace,
        via=via,
    )
    await _audit(store, payload, actor)
    return updated


async def create_token(
    store: Store,
    owner: User,
    name: str,
    expires_at: datetime | None,
    *,
    actor: Actor,
    via: Via,
) -> tuple[str, ApiToken]:
    """A new token for `owner` (the clear token, shown once, and its record); audited.

    A signed-in actor may make tokens only for themselves; the CLI's tokens record no maker.
    """
    if actor.id is not None and actor.id != owner.id:
        raise Forbidden(
            "API tokens are made by their owner: sign in as that user to make one "
            "(an admin may list and revoke other users' tokens)"
        )
    token = new_token()
    record = await store.create_token(
        owner.id,
        name,
        token_hash(token),
        display_prefix(token),
        expires_at,
        created_by=actor.id,
    )
    payload = ap.TokenCreated(
        token_id=record.id,
        name=record.name,
        user_id=owner.id,
        username=owner.username,
        prefix=record.prefix,
        expires_at=record.expires_at,
        created_by=record.created_by,
        via=via,
    )
    await _audit(store, payload, actor)
    return token, record


async def revoke_token(store: Store, token_id: str, *, actor: Actor, via: Via) -> ApiToken:
    record = await store.revoke_token(token_id)
    payload = ap.TokenRevoked(token_id=record.id, name=record.name, user_id=record.user_id, via=via)
    await _audit(store, payload, actor)
    return record


async def audit_refused_decision(
    store: Store,
    actor: Actor,
    token: ApiToken,
    approval_id: str,
    reason: str,
    *,
    conversation_id: str | None,
    run_id: str | None,
) -> None:
    payload = ap.ApprovalRefused(approval_id=approval_id, token_id=token.id, reason=reason)
    await _audit(
        store,
        payload,
        actor,
        conversation_id=conversation_id,
        run_id=run_id,
    )
