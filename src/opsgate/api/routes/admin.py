"""Admin routes: users, roles and scoped grants, local password sign-in, Jenkins servers.
Every change is audited.

Jenkins servers are listed from the same directory the tools resolve them through
(`opsgate.store.jenkins_directory`): those added here, and those from settings (read-only).

Nobody can raise their own role here: an admin may not change their own role or disable
themselves (`accounts.update_user`), and the other roles cannot reach these routes at all.
API tokens have their own routes (`routes.tokens`).
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request, Response

from opsgate.api import accounts, auth, sso
from opsgate.api.routes import RecordId
from opsgate.api.schemas import (
    GrantBody,
    JenkinsServerBody,
    JenkinsServerOut,
    LocalLoginBody,
    LocalLoginState,
    NewUser,
    UserList,
    UserPatch,
)
from opsgate.api.state import AppState, app_state
from opsgate.domain import audit_payloads as ap
from opsgate.errors import Conflict, NotFound
from opsgate.store.jenkins_directory import JenkinsDirectory, JenkinsEntry
from opsgate.store.records import User

router = APIRouter(tags=["admin"])
SERVER_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


async def _audit(state: AppState, payload: ap.AuditPayload, principal: auth.Principal) -> None:
    await state.store.append_audit(
        payload.kind,
        payload.payload(),
        actor_id=principal.user.id,
        actor_name=principal.user.username,
    )


@router.get("/users", response_model=UserList)
async def list_users(request: Request, principal: auth.Admin) -> UserList:
    return UserList(items=await app_state(request).store.list_users())


@router.post("/users", response_model=User, status_code=201)
async def create_user(body: NewUser, request: Request, principal: auth.Admin) -> User:
    state = app_state(request)
    return await accounts.create_user(
        state.store,
        state.passwords,
        body.username,
        body.role,
        body.password or None,
        actor=accounts.Actor.of(principal.user),
        via="api",
    )


@router.patch("/users/{user_id}", response_model=User)
async def update_user(
    body: UserPatch,
    request: Request,
    principal: auth.Admin,
    user_id: RecordId,
) -> User:
    """Change a user's role, disable or enable them, or set a new password.

    A new password or disabling ends the user's sessions.
    """
    state = app_state(request)
    return await accounts.update_user(
        state.store,
        state.passwords,
        user_id,
        role=body.role,
        disabled=body.disabled,
        password=body.password or None,
        actor=accounts.Actor.of(principal.user),
        via="api",
    )


@router.post("/users/{user_id}/grants", response_model=User, status_code=201)
async def grant_role(
    body: GrantBody, request: Request, principal: auth.Admin, user_id: RecordId
) -> User:
    """Grant a role in one context, or one namespace of it (replacing one at that scope)."""
    state = app_state(request)
    return await accounts.grant_role(
        state.store,
        await state.store.get_user(user_id),
        body.role,
        body.context,
        body.namespace,
        actor=accounts.Actor.of(principal.user),
        via="api",
    )


@router.delete("/users/{user_id}/grants", response_model=User)
async def revoke_grant(
    request: Request,
    principal: auth.Admin,
    user_id: RecordId,
    context: str = Query(max_length=253),
    namespace: str | None = Query(default=None, max_length=63),
) -> User:
    """Take back the user's grant at exactly this scope."""
    state = app_state(request)
    return await accounts.revoke_grant(
        state.store,
        await state.store.get_user(user_id),
        context,
        namespace,
        actor=accounts.Actor.of(principal.user),
        via="api",
    )


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


async def _local_login(state: AppState) -> LocalLoginState:
    return LocalLoginState(
        enabled=await sso.local_login_enabled(state.store),
        can_turn_off=sso.external_sign_in_configured(state.settings),
    )


@router.get("/local-login", response_model=LocalLoginState)
async def get_local_login(request: Request, principal: auth.Admin) -> LocalLoginState:
    """Whether local password sign-in is on, and whether it may be turned off."""
    return await _local_login(app_state(request))


@router.put("/local-login", response_model=LocalLoginState)
async def put_local_login(
    body: LocalLoginBody, request: Request, principal: auth.Admin
) -> LocalLoginState:
    """Turn local password sign-in on or off (off only once single sign-on or proxy sign-in is
    configured); existing sessions stay until they end."""
    state = app_state(request)
    await sso.set_local_login(
        state.store,
        state.settings,
        body.enabled,
        actor=accounts.Actor.of(principal.user),
        via="api",
    )
    return await _local_login(state)


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
        ap.SettingsChanged(jenkins_server=name, action="upsert", url=body.url, user=body.user),
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
    await _audit(state, ap.SettingsChanged(jenkins_server=name, action="delete"), principal)
    return Response(status_code=204)
