"""Conversations, their messages and direct calls, and runs (start, inspect, stop).

Starting a run returns at once (202) with its id; the engine works in the background and the
client follows the conversation's event stream. Viewers read; operators and above start runs.
Each route sees only the conversations the user's roles cover (`api.scopes`); the engine checks
the role for starting runs in a conversation's contexts again.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from opsgate.api import auth, scopes
from opsgate.api.routes import RecordId, meta
from opsgate.api.routes.approvals import approval_out
from opsgate.api.schemas import (
    CallBody,
    ConversationDetail,
    ConversationPage,
    ConversationPatch,
    MessageBody,
    NewConversation,
    RunDetail,
    RunOut,
    RunStarted,
)
from opsgate.api.state import AppState, app_state
from opsgate.domain import grants, roles
from opsgate.errors import ConfigError, Forbidden, InvalidInput
from opsgate.store.records import Conversation

router = APIRouter(tags=["conversations"])

_TOTAL_CAP = 10_000


def _allowed_contexts(state: AppState, body: NewConversation) -> list[str]:
    wanted = list(body.contexts or [])
    if body.context is not None:
        wanted = [body.context, *[c for c in wanted if c != body.context]]
    if not wanted and state.default_context is not None:
        wanted = [state.default_context]
    for name in wanted:
        if name not in state.contexts:
            raise InvalidInput("context", f"{name!r} is not a context this server may use")
    return wanted


@router.post("/conversations", response_model=Conversation, status_code=201)
async def create_conversation(
    body: NewConversation,
    request: Request,
    principal: auth.Operator,
) -> Conversation:
    state = app_state(request)
    contexts = _allowed_contexts(state, body)
    user = principal.user
    role = grants.role_for_all(user.role, user.grants, contexts, body.namespace)
    if not roles.can_operate(role):
        where = ", ".join(grants.scope_text(c, body.namespace) for c in contexts) or "no context"
        raise Forbidden(f"user {user.username!r} is {role} in {where}: may not start runs there")
    title = (body.title or "").strip() or "New conversation"
    return await state.store.create_conversation(title, user.id, contexts, body.namespace)


@router.get("/conversations", response_model=ConversationPage)
async def list_conversations(
    request: Request,
    principal: auth.Viewer,
    query: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=_TOTAL_CAP),
) -> ConversationPage:
    """Conversations, newest first, searchable by title."""
    store = app_state(request).store
    everything = await store.list_conversations(query=query or None, limit=_TOTAL_CAP, offset=0)
    if scopes.sees_everything(principal.user):
        items = await store.list_conversations(query=query or None, limit=limit, offset=offset)
        return ConversationPage(items=items, total=len(everything))
    shown = scopes.conversations(principal.user, everything)
    return ConversationPage(items=shown[offset : offset + limit], total=len(shown))


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    request: Request,
    principal: auth.Viewer,
    conversation_id: RecordId,
) -> ConversationDetail:
    store = app_state(request).store
    conversation = await scopes.conversation(store, principal.user, conversation_id)
    approvals = await store.list_approvals(conversation_id=conversation_id, limit=500)
    return ConversationDetail(
        conversation=conversation,
        messages=await store.list_messages(conversation_id),
        runs=await store.list_runs(conversation_id),
        calls=await store.list_calls(conversation_id=conversation_id),
        approvals=[await approval_out(store, a, viewer=principal.user) for a in approvals],
        usage=await store.conversation_usage(conversation_id),
    )


@router.patch("/conversations/{conversation_id}", response_model=Conversation)
async def rename_conversation(
    body: ConversationPatch,
    request: Request,
    principal: auth.Operator,
    conversation_id: RecordId,
) -> Conversation:
    store = app_state(request).store
    await scopes.conversation(store, principal.user, conversation_id)
    return await store.rename_conversation(conversation_id, body.title.strip())


@router.post(
    "/conversations/{conversation_id}/messages", response_model=RunStarted, status_code=202
)
async def post_message(
    body: MessageBody,
    request: Request,
    principal: auth.Operator,
    conversation_id: RecordId,
) -> RunStarted:
    """Ask the agent; the run continues in the background (and if the client goes away)."""
    state = app_state(request)
    await scopes.conversation(state.store, principal.user, conversation_id)
    if state.model_name is None:
        raise ConfigError(f"no model is configured. {meta.HOW_TO_MODEL}")
    run = await state.engine.submit_message(conversation_id, principal.user, body.text)
    return RunStarted(run_id=run.id)


@router.post("/conversations/{conversation_id}/calls", response_model=RunStarted, status_code=202)
async def post_call(
    body: CallBody,
    request: Request,
    principal: auth.Operator,
    conversation_id: RecordId,
) -> RunStarted:
    """The direct path: one tool call of the operator's own, through the same gate."""
    state = app_state(request)
    await scopes.conversation(state.store, principal.user, conversation_id)
    if body.tool not in state.tools:
        raise InvalidInput("tool", f"no tool named {body.tool!r}")
    run = await state.engine.submit_call(conversation_id, principal.user, body.tool, body.args)
    return RunStarted(run_id=run.id)


@router.get("/runs/{run_id}", response_model=RunDetail)
async def get_run(request: Request, principal: auth.Viewer, run_id: RecordId) -> RunDetail:
    store = app_state(request).store
    run = await scopes.run(store, principal.user, run_id)
    return RunDetail(run=run, calls=await store.list_calls(run_id=run_id))


@router.post("/runs/{run_id}/stop", response_model=RunOut)
async def stop_run(request: Request, principal: auth.Operator, run_id: RecordId) -> RunOut:
    """Ask the run to stop between steps; a running tool call finishes first."""
    state = app_state(request)
    await scopes.run(state.store, principal.user, run_id)
    await state.engine.stop(run_id, principal.user)
    return RunOut(run=await state.store.get_run(run_id))
