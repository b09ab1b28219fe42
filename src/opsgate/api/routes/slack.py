"""Slack approvals: `POST /slack/interactions`, where Slack sends button presses and modals.

Slack posts a form with one field, `payload` (JSON, Slack's documented interaction format),
signed with the app's signing secret. Every request is checked first (`notify.slack.verify`:
v0 signature in constant time, five-minute window) and its signature remembered, so a replay
is refused (401, nothing decided). No opsgate credential comes with a press: the Slack user
is mapped to the opsgate user an admin linked them to (`opsgate users link-slack`), and the
decision goes through `approvals.decide_call`, exactly the API's path (visibility, the reason
rule, then the engine's role, scope, distinct-approver and policy checks, and the single-use
binding to the call hash). A press that needs a reason (a rejection, a destructive change)
opens a modal (`views.open`); its submission decides with the reason typed there. Then the
message is updated (`chat.update`) with the outcome, or with why the decision was refused.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ValidationError

from opsgate.api.notify import slack
from opsgate.api.routes import approvals
from opsgate.api.state import AppState, app_state
from opsgate.errors import AuthError, InvalidInput, NotFound, OpsgateError
from opsgate.store.records import User

router = APIRouter(tags=["slack"])
log = logging.getLogger("opsgate.slack")

REASON_BLOCK = "reason"
REASON_ACTION = "reason_input"


class Pressed(BaseModel):
    """What a button carries (its `value`) and a modal keeps (`private_metadata`)."""

    approval_id: str
    call_id: str
    approve: bool
    channel: str | None = None
    ts: str | None = None


def button_value(approval_id: str, call_id: str) -> str:
    """The `value` of a message's Approve and Reject buttons for one call."""
    return json.dumps({"approval_id": approval_id, "call_id": call_id})


async def _verified_payload(state: AppState, request: Request) -> dict[str, Any]:
    config = state.settings.slack
    if config is None:
        raise NotFound("Slack is not configured (OPSGATE_SLACK__SIGNING_SECRET)")
    body = await request.body()
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    given = request.headers.get("X-Slack-Signature", "")
    now = state.clock()
    slack.verify(
        config.signing_secret.get_secret_value(), timestamp, given, body, now=now.timestamp()
    )
    fresh = await state.store.remember_slack_request(
        given, now=now, forget_before=now - timedelta(seconds=2 * slack.WINDOW_S)
    )
    if not fresh:
        raise AuthError("the Slack request was already received (a replay)")
    try:
        [text] = parse_qs(body.decode(), strict_parsing=True)["payload"]
        payload: dict[str, Any] = json.loads(text)
    except (KeyError, ValueError, UnicodeDecodeError) as e:
        raise InvalidInput("payload", "not a Slack interaction payload") from e
    return payload


async def _user(state: AppState, slack_user_id: str) -> User:
    user = await state.store.slack_user(slack_user_id)
    if user is None:
        raise AuthError(
            f"Slack user {slack_user_id!r} is not linked to an opsgate user "
            f"(an admin runs `opsgate users link-slack USERNAME {slack_user_id}`)"
        )
    return user


async def _needs_reason(state: AppState, pressed: Pressed) -> bool:
    """Whether the decision needs a reason (a rejection, a destructive change): asked for in a
    modal first, rather than refused; `decide_call` enforces the rule all the same."""
    if not pressed.approve:
        return True
    request = await state.store.get_approval(pressed.approval_id)
    return any(i.destructive for i in request.items if i.call_id == pressed.call_id)


async def _decide(
    state: AppState, api: slack.SlackApi, slack_user_id: str, pressed: Pressed, reason: str | None
) -> Literal["decided", "refused", "needs_reason"]:
    """Decide through the API's path and put the outcome (or the refusal) on the message;
    `needs_reason` (nothing decided, message unchanged) when the reason is still to be asked."""
    try:
        user = await _user(state, slack_user_id)
        if reason is None and await _needs_reason(state, pressed):
            return "needs_reason"
        decided = await approvals.decide_call(
            state, user, pressed.approval_id, pressed.call_id, pressed.approve, reason
        )
        item = next(i for i in decided.items if i.call_id == pressed.call_id)
        verb = "approved" if pressed.approve else "rejected"
        text = f"{item.tool} in {item.context}: {verb} by {user.username} (now {item.status})"
        outcome: Literal["decided", "refused", "needs_reason"] = "decided"
    except OpsgateError as e:
        text = f"Not decided: {e}"
        outcome = "refused"
    if pressed.channel and pressed.ts:
        await api.update(pressed.channel, pressed.ts, text)
    return outcome


async def _open_reason_modal(api: slack.SlackApi, trigger_id: str, pressed: Pressed) -> None:
    title = "Reject" if not pressed.approve else "Approve"
    await api.call(
        "views.open",
        {
            "trigger_id": trigger_id,
            "view": {
                "type": "modal",
                "callback_id": "opsgate_reason",
                "private_metadata": pressed.model_dump_json(),
                "title": {"type": "plain_text", "text": f"{title} the change"},
                "submit": {"type": "plain_text", "text": title},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": REASON_BLOCK,
                        "label": {"type": "plain_text", "text": "Reason (recorded in the audit)"},
                        "element": {
                            "type": "plain_text_input",
                            "action_id": REASON_ACTION,
                            "multiline": True,
                        },
                    }
                ],
            },
        },
    )


async def _press(state: AppState, api: slack.SlackApi, payload: dict[str, Any]) -> None:
    [action] = payload["actions"]
    if action.get("action_id") not in ("approve", "reject"):
        raise InvalidInput("payload", f"unknown action {action.get('action_id')!r}")
    pressed = Pressed(
        **json.loads(action["value"]),
        approve=action["action_id"] == "approve",
        channel=payload.get("container", {}).get("channel_id"),
        ts=payload.get("container", {}).get("message_ts"),
    )
    if await _decide(state, api, payload["user"]["id"], pressed, None) == "needs_reason":
        await _open_reason_modal(api, payload["trigger_id"], pressed)


async def _submit(state: AppState, api: slack.SlackApi, payload: dict[str, Any]) -> None:
    view = payload["view"]
    pressed = Pressed.model_validate_json(view["private_metadata"])
    reason = view["state"]["values"][REASON_BLOCK][REASON_ACTION].get("value")
    await _decide(state, api, payload["user"]["id"], pressed, reason)


@router.post("/slack/interactions", include_in_schema=False)
async def interactions(request: Request) -> Response:
    """Slack's Interactivity request URL; see the module docstring."""
    state = app_state(request)
    payload = await _verified_payload(state, request)
    api = state.slack
    assert api is not None  # set in the lifespan whenever `settings.slack` is
    try:
        if payload.get("type") == "block_actions":
            await _press(state, api, payload)
        elif payload.get("type") == "view_submission":
            await _submit(state, api, payload)
        else:
            raise InvalidInput("payload", f"unsupported interaction {payload.get('type')!r}")
    except (KeyError, TypeError, ValueError, ValidationError) as e:
        raise InvalidInput("payload", "not a Slack interaction payload opsgate sent") from e
    return Response(status_code=200)
