"""Admin routes: users and roles, Jenkins servers. Every change is audited.

Nobody can raise their own role here: an admin may not change their own role or disable
themselves (`accounts.update_user`), and the other roles cannot reach these routes at all.
API tokens have their own routes (`routes.tokens`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request, Response

from opsgate.api import accounts, auth
from opsgate.api.routes import RecordId
from opsgate.api.schemas import (
    JenkinsServerBody,
    JenkinsServerOut,
    NewUser,
    UserList,
    UserPatch,
)
from opsgate.api.state import AppState, app_state
from opsgate.domain.audit import AuditKind
from opsgate.store.records import JenkinsServerRecord, User

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


def _jenkins_out(record: JenkinsServerRecord) -> JenkinsServerOut:
    return JenkinsServerOut(
        name=record.name, url=record.url, user=record.user, verify_tls=record.verify_tls
    )


@router.get("/jenkins-servers", response_model=list[JenkinsServerOut])
async def list_jenkins_servers(request: Request, principal: auth.Admin) -> list[JenkinsServerOut]:
    return [_jenkins_out(r) for r in await app_state(request).store.list_jenkins_servers()]


@router.get("/jenkins-servers/{name}", response_model=JenkinsServerOut)
async def get_jenkins_server(
    request: Request,
    principal: auth.Admin,
    name: str = Path(min_length=1, max_length=63, pattern=SERVER_NAME),
) -> JenkinsServerOut:
    return _jenkins_out(await app_state(request).store.get_jenkins_server(name))


@router.put("/jenkins-servers/{name}", response_model=JenkinsServerOut)
async def put_jenkins_server(
    body: JenkinsServerBody,
    request: Request,
    principal: auth.Admin,
    name: str = Path(min_length=1, max_length=63, pattern=SERVER_NAME),
) -> JenkinsServerOut:
    """Create or replace a Jenkins server; its token is stored encrypted and never returned."""
    state = app_state(request)
    record = await state.store.upsert_jenkins_server(
        name, body.url, body.user, body.token, body.verify_tls
    )
    await _audit(
        state,
        "settings.changed",
        {"jenkins_server": name, "action": "upsert", "url": body.url, "user": body.user},
        principal,
    )
    return _jenkins_out(record)


@router.delete("/jenkins-servers/{name}", status_code=204)
async def delete_jenkins_server(
    request: Request,
    principal: auth.Admin,
    name: str = Path(min_length=1, max_length=63, pattern=SERVER_NAME),
) -> Response:
    state = app_state(request)
    await state.store.delete_jenkins_server(name)
    await _audit(state, "settings.changed", {"jenkins_server": name, "action": "delete"}, principal)
    return Response(status_code=204)
