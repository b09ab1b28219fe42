"""Admin routes: users and roles, API tokens, Jenkins servers. Every change is audited.

Jenkins servers are listed from the same directory the tools resolve them through
(`opsgate.store.jenkins_directory`): those added here, and those from settings (read-only).

Nobody can raise their own role here: an admin may not change their own role or disable
themselves, and the other roles cannot reach these routes at all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Path, Request, Response

from opsgate.api import auth
from opsgate.api.schemas import (
    CreatedToken,
    JenkinsServerBody,
    JenkinsServerOut,
    NewToken,
    NewUser,
    TokenList,
    UserList,
    UserPatch,
)
from opsgate.api.state import AppState, app_state
from opsgate.domain.audit import AuditKind
from opsgate.errors import Conflict, Forbidden, NotFound
from opsgate.store.jenkins_directory import JenkinsDirectory, JenkinsEntry
from opsgate.store.records import ApiToken, User

router = APIRouter(tags=["admin"])
SERVER_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


async def _audit(
    state: AppState, kind: AuditKind, payload: dict[str, Any], principal: auth.Principal
) -> None:
    await state.store.append_audit(
        kind, payload, actor_id=principal.user.id, actor_name=principal.user.username
    )


@router.get("/users", response_model=UserList)
async def list_users(request: Request, principal: auth.Admin) -> UserList:
    return UserList(items=await app_state(request).store.list_users())


@router.post("/users", response_model=User, status_code=201)
async def create_user(body: NewUser, request: Request, principal: auth.Admin) -> User:
    state = app_state(request)
    try:
        await state.store.get_user_by_name(body.username)
    except NotFound:
        pass
    else:
        raise Conflict(f"a user named {body.username!r} exists")
    password_hash = await state.passwords.hash_async(body.password) if body.password else None
    user = await state.store.create_user(body.username, body.role, password_hash)
    await _audit(
        state,
        "user.created",
        {"user_id": user.id, "username": user.username, "role": user.role},
        principal,
    )
    return user


@router.patch("/users/{user_id}", response_model=User)
async def update_user(
    body: UserPatch,
    request: Request,
    principal: auth.Admin,
    user_id: str = Path(max_length=100),
) -> User:
    """Change a user's role, disable or enable them, or set a new password."""
    state = app_state(request)
    if user_id == principal.user.id and (body.role is not None or body.disabled is not None):
        raise Forbidden("you cannot change your own role or disable yourself")
    before = await state.store.get_user(user_id)
    password_hash = await state.passwords.hash_async(body.password) if body.password else None
    user = await state.store.update_user(
        user_id, role=body.role, disabled=body.disabled, password_hash=password_hash
    )
    changes: dict[str, Any] = {}
    if body.role is not None and body.role != before.role:
        changes["role"] = {"from": before.role, "to": body.role}
    if body.disabled is not None and body.disabled != before.disabled:
        changes["disabled"] = body.disabled
    if password_hash is not None:
        changes["password"] = "changed"  # noqa: S105 - a label
    kind: AuditKind = "user.disabled" if body.disabled else "user.updated"
    await _audit(
        state, kind, {"user_id": user.id, "username": user.username, "changes": changes}, principal
    )
    return user


@router.get("/tokens", response_model=TokenList)
async def list_tokens(
    request: Request,
    principal: auth.Admin,
    user_id: str | None = None,
) -> TokenList:
    return TokenList(items=await app_state(request).store.list_tokens(user_id))


@router.post("/tokens", response_model=CreatedToken, status_code=201)
async def create_token(body: NewToken, request: Request, principal: auth.Admin) -> CreatedToken:
    """Create an API token; the answer is the only time the token itself is shown."""
    state = app_state(request)
    owner = await state.store.get_user(body.user_id or principal.user.id)
    token = auth.new_api_token()
    expires_at = (
        state.clock() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    )
    record = await state.store.create_token(
        owner.id, body.name, auth.token_hash(token), auth.token_display_prefix(token), expires_at
    )
    await _audit(
        state,
        "token.created",
        {"token_id": record.id, "name": record.name, "user_id": owner.id, "prefix": record.prefix},
        principal,
    )
    return CreatedToken(token=token, record=record)


@router.delete("/tokens/{token_id}", response_model=ApiToken)
async def revoke_token(
    request: Request,
    principal: auth.Admin,
    token_id: str = Path(max_length=100),
) -> ApiToken:
    state = app_state(request)
    record = await state.store.revoke_token(token_id)
    await _audit(state, "token.revoked", {"token_id": record.id, "name": record.name}, principal)
    return record


def _jenkins_directory(state: AppState) -> JenkinsDirectory:
    """The directory the tools resolve servers through: this database plus settings."""
    return JenkinsDirectory(state.store, state.settings.jenkins)


def _jenkins_out(entry: JenkinsEntry) -> JenkinsServerOut:
    return JenkinsServerOut(
        name=entry.name,
        url=entry.url,
        user=entry.user,
        verify_tls=entry.verify_tls,
        source=entry.source,
        read_only=entry.source == "settings",
        in_use=entry.in_use,
    )


def _refuse_settings_server(directory: JenkinsDirectory, name: str) -> None:
    if directory.read_only(name):
        variable = f"OPSGATE_JENKINS__{name.upper()}__*"
        raise Conflict(
            f"Jenkins server {name!r} comes from settings ({variable}) and is read-only here; "
            "change it where opsgate is configured, or use another name"
        )


@router.get("/jenkins-servers", response_model=list[JenkinsServerOut])
async def list_jenkins_servers(request: Request, principal: auth.Admin) -> list[JenkinsServerOut]:
    """Every Jenkins server the tools may name: added here, or from settings (read-only)."""
    entries = await _jenkins_directory(app_state(request)).entries()
    return [_jenkins_out(entry) for entry in entries]


@router.get("/jenkins-servers/{name}", response_model=JenkinsServerOut)
async def get_jenkins_server(
    request: Request,
    principal: auth.Admin,
    name: str = Path(min_length=1, max_length=63, pattern=SERVER_NAME),
) -> JenkinsServerOut:
    """The server the tools use under `name` (settings first, then this database)."""
    entries = await _jenkins_directory(app_state(request)).entries()
    found = next((entry for entry in entries if entry.name == name and entry.in_use), None)
    if found is None:
        raise NotFound(f"no Jenkins server {name!r}")
    return _jenkins_out(found)


@router.put("/jenkins-servers/{name}", response_model=JenkinsServerOut)
async def put_jenkins_server(
    body: JenkinsServerBody,
    request: Request,
    principal: auth.Admin,
    name: str = Path(min_length=1, max_length=63, pattern=SERVER_NAME),
) -> JenkinsServerOut:
    """Create or replace a Jenkins server; its token is stored encrypted and never returned.

    The tools can use it at once (they look servers up per call). A name that comes from
    settings is refused with 409.
    """
    state = app_state(request)
    _refuse_settings_server(_jenkins_directory(state), name)
    record = await state.store.upsert_jenkins_server(
        name, body.url, body.user, body.token, body.verify_tls
    )
    await _audit(
        state,
        "settings.changed",
        {"jenkins_server": name, "action": "upsert", "url": body.url, "user": body.user},
        principal,
    )
    return _jenkins_out(
        JenkinsEntry(
            name=record.name,
            url=record.url,
            user=record.user,
            verify_tls=record.verify_tls,
            source="database",
            in_use=True,
        )
    )


@router.delete("/jenkins-servers/{name}", status_code=204)
async def delete_jenkins_server(
    request: Request,
    principal: auth.Admin,
    name: str = Path(min_length=1, max_length=63, pattern=SERVER_NAME),
) -> Response:
    """Remove a server added here; a server from settings is refused with 409."""
    state = app_state(request)
    stored = {record.name for record in await state.store.list_jenkins_servers()}
    if name not in stored:
        # A record hidden by a settings server of the same name may still be removed.
        _refuse_settings_server(_jenkins_directory(state), name)
    await state.store.delete_jenkins_server(name)
    await _audit(state, "settings.changed", {"jenkins_server": name, "action": "delete"}, principal)
    return Response(status_code=204)
