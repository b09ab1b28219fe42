"""What an authenticated alert notification does: dedupe, rate limit, open, note; all audited.

Called by `api.routes.alerts` with the app's state and a parsed `Notification`. A firing
group opens one conversation and one run, as the configured service user
(`AlertSettings.user`), while no investigation of it is open (`Store.open_alert_group`); more
notifications of an open group are deduplicated; a resolved group is noted on its
conversation and closed, so its next firing opens a new investigation. New investigations
are bounded per minute (`AlertSettings.runs_per_minute`, counted in the database so every
replica shares the budget): beyond it the alert is audited and refused with 429. The run
offers the model only read-only tools (`Engine.submit_message(read_only=True)`); with no
model, or `investigate_with: diagnostics`, it is a direct `k8s_diagnose` call. Either way,
any change proposed waits for an approval like every other. Audit events name the group by
the SHA-256 of its key and carry alert names, never annotations.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from opsgate.api.alerts.payloads import Notification
from opsgate.api.alerts.request import investigation_request
from opsgate.api.ratelimit import RateLimited
from opsgate.api.state import AppState
from opsgate.domain import audit_payloads as ap
from opsgate.domain import grants, roles
from opsgate.errors import ConfigError, Conflict, NotFound, OpsgateError, truncate
from opsgate.store.records import NewAuditEvent, NewMessage, User
from opsgate.tools import validate

DIAGNOSE_TOOL = "k8s_diagnose"
WINDOW = timedelta(minutes=1)
_NAMESPACE: TypeAdapter[str] = TypeAdapter(validate.Namespace)

_Payload = TypeVar("_Payload", bound=ap.AuditPayload)

Outcome = Literal["opened", "deduplicated", "noted", "ignored"]


class IntakeResult(BaseModel):
    """What the intake did with one notification (the response body)."""

    outcome: Outcome
    message: str
    conversation_id: str | None = None
    run_id: str | None = None
    investigated_with: Literal["model", "diagnostics"] | None = None


async def receive(state: AppState, notification: Notification) -> IntakeResult:
    """Act on one notification (see the module docstring).

    Raises:
        ConfigError: the service user is missing, disabled or may not operate there, or the
            context (or, without a model, `k8s_diagnose`) is not available.
        RateLimited: opening an investigation now would exceed `runs_per_minute`.
    """
    user = await _service_user(state)
    key = hashlib.sha256(notification.group_key.encode()).hexdigest()
    group = ap.AlertReceived(
        source=notification.source,
        group_key_sha256=key,
        alertnames=[truncate(n, 100) for n in notification.alertnames[:20]],
        status=notification.status,
        alerts=len(notification.alerts),
        fingerprints=[a.fingerprint for a in notification.alerts if a.fingerprint][:100],
    )
    await _audit(state, group, user)
    async with state.alert_lock:
        known = await state.store.get_alert_group(notification.source, key)
        open_id = known.conversation_id if known is not None and known.status == "open" else None
        if notification.status == "resolved":
            if open_id is None:
                return IntakeResult(
                    outcome="ignored", message="no investigation of this alert group is open"
                )
            return await _note_resolved(state, notification, group, user)
        if open_id is not None:
            return await _deduplicated(state, group, user, open_id)
        await _check_rate(state, group, user)
        return await _open(state, notification, group, user)


async def _service_user(state: AppState) -> User:
    name = state.settings.alerts.user
    try:
        user = await state.store.get_user_by_name(name)
    except NotFound as e:
        raise ConfigError(
            f"alert investigations run as user {name!r} (OPSGATE_ALERTS__USER), who does not "
            f"exist: create it with `opsgate users add {name} --role operator --no-password`"
        ) from e
    if user.disabled:
        raise ConfigError(f"alert investigations run as user {name!r}, who is disabled")
    return user


def _about(group: ap.AlertReceived, model: type[_Payload], **fields: Any) -> _Payload:
    """An alert audit payload naming the same group as `group`."""
    return model(
        source=group.source,
        group_key_sha256=group.group_key_sha256,
        alertnames=group.alertnames,
        **fields,
    )


async def _audit(
    state: AppState,
    payload: ap.AuditPayload,
    user: User,
    *,
    conversation_id: str | None = None,
    run_id: str | None = None,
) -> None:
    await state.store.append_audit(
        payload.kind,
        payload.payload(),
        actor_id=user.id,
        actor_name=user.username,
        conversation_id=conversation_id,
        run_id=run_id,
    )


async def _deduplicated(
    state: AppState, group: ap.AlertReceived, user: User, conversation_id: str
) -> IntakeResult:
    deduplicated = _about(group, ap.AlertDeduplicated)
    await _audit(state, deduplicated, user, conversation_id=conversation_id)
    return IntakeResult(
        outcome="deduplicated",
        message="this alert group's investigation is still open: no new run was started",
        conversation_id=conversation_id,
    )


async def _check_rate(state: AppState, group: ap.AlertReceived, user: User) -> None:
    limit = state.settings.alerts.runs_per_minute
    now = state.clock()
    opened = await state.store.alert_groups_opened_since(now - WINDOW)
    if len(opened) < limit:
        return
    await _audit(state, _about(group, ap.AlertRateLimited, limit=limit), user)
    retry_after = max((min(opened) + WINDOW - now).total_seconds(), 0.0)
    raise RateLimited(
        retry_after,
        f"{len(opened)} alert investigations opened in the last minute, the limit "
        f"(OPSGATE_ALERTS__RUNS_PER_MINUTE) is {limit}; this alert was recorded, no run started",
    )


def _namespace(state: AppState, notification: Notification) -> str | None:
    """The namespace every firing alert names, else the configured one (None: all)."""
    named = {a.labels.get("namespace") for a in notification.firing}
    candidates = [named.pop()] if len(named) == 1 else []
    candidates.append(state.settings.alerts.namespace)
    for candidate in candidates:
        if candidate is None:
            continue
        try:
            return _NAMESPACE.validate_python(candidate)
        except ValidationError:
            continue
    return None


def _context(state: AppState) -> str:
    context = state.settings.alerts.context or state.default_context
    if context is None or context not in state.contexts:
        raise ConfigError(
            f"alert investigations need a cluster context this server may use; "
            f"{context!r} is not one (set OPSGATE_ALERTS__CONTEXT or OPSGATE_DEFAULT_CONTEXT)"
        )
    return context


async def _open(
    state: AppState, notification: Notification, group: ap.AlertReceived, user: User
) -> IntakeResult:
    context = _context(state)
    namespace = _namespace(state, notification)
    role = grants.role_for_all(user.role, user.grants, [context], namespace)
    if not roles.can_operate(role):
        raise ConfigError(
            f"alert investigations run as user {user.username!r}, who is {role} in "
            f"{grants.scope_text(context, namespace)}: they must be an operator there"
        )
    with_model = state.model_name is not None and state.settings.alerts.investigate_with == "model"
    if not with_model and DIAGNOSE_TOOL not in state.tools:
        raise ConfigError(f"alert investigations without a model need {DIAGNOSE_TOOL!r}")
    where = f" in {namespace}" if namespace else ""
    title = truncate(f"Alert: {', '.join(group.alertnames)}{where}", 180)
    conversation = await state.store.create_conversation(title, user.id, [context], namespace)
    try:
        await state.store.open_alert_group(
            notification.source, group.group_key_sha256, conversation.id, now=state.clock()
        )
    except Conflict:
        # Another replica opened this group's investigation a moment ago.
        known = await state.store.get_alert_group(notification.source, group.group_key_sha256)
        if known is None:
            raise
        return await _deduplicated(state, group, user, known.conversation_id)
    try:
        if with_model:
            text = investigation_request(notification, namespace)
            run = await state.engine.submit_message(conversation.id, user, text, read_only=True)
        else:
            args: dict[str, object] = (
                {"namespace": namespace} if namespace else {"all_namespaces": True}
            )
            run = await state.engine.submit_call(
                conversation.id,
                user,
                DIAGNOSE_TOOL,
                dict(args),
                purpose=f"investigation of the alert {', '.join(group.alertnames)!r}",
            )
    except OpsgateError:
        # No run: the group must not stay deduplicated into an empty conversation.
        await state.store.resolve_alert_group(notification.source, group.group_key_sha256)
        raise
    investigated_with: Literal["model", "diagnostics"] = "model" if with_model else "diagnostics"
    await _audit(
        state,
        _about(group, ap.AlertInvestigationOpened, investigated_with=investigated_with),
        user,
        conversation_id=conversation.id,
        run_id=run.id,
    )
    return IntakeResult(
        outcome="opened",
        message=f"opened an investigation ({investigated_with}, read-only until a person joins)",
        conversation_id=conversation.id,
        run_id=run.id,
        investigated_with=investigated_with,
    )


async def _note_resolved(
    state: AppState, notification: Notification, group: ap.AlertReceived, user: User
) -> IntakeResult:
    resolved = await state.store.resolve_alert_group(
        notification.source, group.group_key_sha256, now=state.clock()
    )
    if resolved is None:
        return IntakeResult(outcome="ignored", message="the investigation was closed meanwhile")
    at = state.clock().strftime("%Y-%m-%d %H:%M:%S UTC")
    names = ", ".join(group.alertnames)
    text = (
        f"Alert resolved: {names!r}, reported by {notification.sender} at {at}. A new firing "
        "of this alert group opens a new investigation."
    )
    payload = _about(group, ap.AlertResolved)
    await state.store.write_batch(
        [
            NewMessage(
                resolved.conversation_id,
                "user",
                text,
                author_id=user.id,
                data={"alert": "resolved"},
            ),
            NewAuditEvent(
                payload.kind,
                payload.payload(),
                actor_id=user.id,
                actor_name=user.username,
                conversation_id=resolved.conversation_id,
            ),
        ]
    )
    return IntakeResult(
        outcome="noted",
        message="the alert group resolved: noted on its conversation",
        conversation_id=resolved.conversation_id,
    )
