"""Slack button presses at `POST /api/v1/slack/interactions`, signed as Slack signs them, over
the real app, against a Slack Web API stand-in on loopback: a valid press decides through the
API's decision path; a bad signature, a stale timestamp or a replay is refused before anything
is read; an unlinked Slack user, a user without the role and the proposer are refused and the
message says why; a rejection asks for its reason in a modal first."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from opsgate.api.routes import slack as slack_routes
from tests.fixtures.api import ApiEnv, running_app
from tests.inbox.test_inbox_api import propose, wait_inbox
from tests.notify.slack_standin import BOT_TOKEN, SlackStandIn, slack_stand_in

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL, TS = "C0OPSGATE", "1764633600.000100"


@dataclass
class SlackEnv:
    env: ApiEnv
    slack: SlackStandIn
    app_client: httpx.AsyncClient
    approval_id: str
    call_id: str


@pytest.fixture
async def slack_env(tmp_path: Path) -> AsyncIterator[SlackEnv]:
    with slack_stand_in() as stand_in:
        config = {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": stand_in.api_url,
        }
        async with (
            running_app(tmp_path / "data", slack=config) as env,
            env.client() as anonymous,
            env.client("operator") as operator,
            env.client("approver") as approver,
        ):
            await propose(operator)
            [row] = (await wait_inbox(approver, 1))["items"]
            for role, slack_id in (("approver", "UAPPROVER"), ("viewer", "UVIEWER")):
                await env.state.store.link_slack(env.users[role].id, slack_id)
            await env.state.store.link_slack(env.users["operator"].id, "UOPERATOR")
            yield SlackEnv(env, stand_in, anonymous, row["approval_id"], row["call_id"])


def signed(body: bytes, *, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    base = b"v0:" + timestamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def press(s: SlackEnv, slack_user: str, action: str = "approve") -> bytes:
    """A `block_actions` payload as Slack documents it, for a button of opsgate's message."""
    payload = {
        "type": "block_actions",
        "user": {"id": slack_user, "username": slack_user.lower(), "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "team": {"id": "T0TEAM", "domain": "example"},
        "container": {
            "type": "message",
            "message_ts": TS,
            "channel_id": CHANNEL,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": CHANNEL, "name": "ops-approvals"},
        "message": {"type": "message", "ts": TS, "text": "k_scale waits for approval"},
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        "actions": [
            {
                "action_id": action,
                "block_id": "decide",
                "type": "button",
                "value": slack_routes.button_value(s.approval_id, s.call_id),
                "action_ts": "1764633601.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


async def post(s: SlackEnv, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await s.app_client.post("/api/v1/slack/interactions", content=body, headers=headers)


async def approval(s: SlackEnv) -> dict[str, Any]:
    async with s.env.client("viewer") as viewer:
        found: dict[str, Any] = (await viewer.get(f"/api/v1/approvals/{s.approval_id}")).json()
    return found


async def test_a_valid_press_decides_and_updates_the_message(slack_env: SlackEnv) -> None:
    body = press(slack_env, "UAPPROVER")
    answer = await post(slack_env, body, signed(body))
    assert answer.status_code == 200, answer.text
    decided = await approval(slack_env)
    [item] = decided["items"]
    assert item["status"] == "approved"
    assert [d["decided_by"] for d in item["decisions"]] == [slack_env.env.users["approver"].id]
    [update] = slack_env.slack.of("chat.update")
    assert (update["channel"], update["ts"]) == (CHANNEL, TS)
    assert update["text"] == "k_scale in sandbox: approved by approver (now approved)"
    assert all(authorised for _, _, authorised in slack_env.slack.calls)


@pytest.mark.parametrize(
    ("why", "headers"),
    [
        ("bad signature", lambda body: signed(body, secret="not-the-signing-secret")),
        ("stale timestamp", lambda body: signed(body, at=int(time.time()) - 301)),
        ("no signature", lambda body: {"Content-Type": "application/x-www-form-urlencoded"}),
    ],
)
async def test_an_unsigned_or_stale_press_is_refused_and_nothing_is_decided(
    slack_env: SlackEnv, why: str, headers: Any
) -> None:
    body = press(slack_env, "UAPPROVER")
    answer = await post(slack_env, body, headers(body))
    assert answer.status_code == 401, why
    assert (await approval(slack_env))["items"][0]["status"] == "pending"
    assert slack_env.slack.calls == []


async def test_a_replayed_press_is_refused(slack_env: SlackEnv) -> None:
    body = press(slack_env, "UVIEWER")
    headers = signed(body)
    first = await post(slack_env, body, headers)
    again = await post(slack_env, body, headers)
    assert first.status_code == 200
    assert again.status_code == 401
    assert "replay" in again.json()["error"]["message"]
    assert len(slack_env.slack.of("chat.update")) == 1


@pytest.mark.parametrize(
    ("slack_user", "why"),
    [
        ("UNOBODY", "Not decided: Slack user 'UNOBODY' is not linked to an opsgate user"),
        ("UVIEWER", "Not decided: user 'viewer' may not decide on a change in sandbox"),
        ("UOPERATOR", "Not decided: user 'operator' may not decide on a change in sandbox"),
    ],
)
async def test_a_press_by_someone_who_may_not_decide_says_why(
    slack_env: SlackEnv, slack_user: str, why: str
) -> None:
    body = press(slack_env, slack_user)
    answer = await post(slack_env, body, signed(body))
    assert answer.status_code == 200, answer.text
    assert (await approval(slack_env))["items"][0]["status"] == "pending"
    [update] = slack_env.slack.of("chat.update")
    assert update["text"].startswith(why), update["text"]


async def test_the_proposer_may_not_approve_their_own_change_from_slack(
    slack_env: SlackEnv,
) -> None:
    # The operator proposed it; give them the approver role so only the distinct rule remains.
    store = slack_env.env.state.store
    await store.update_user(slack_env.env.users["operator"].id, role="approver")
    body = press(slack_env, "UOPERATOR")
    await post(slack_env, body, signed(body))
    [update] = slack_env.slack.of("chat.update")
    assert update["text"] == "Not decided: the requester of a change may not approve it"
    assert (await approval(slack_env))["items"][0]["status"] == "pending"


async def test_a_rejection_asks_for_its_reason_in_a_modal(slack_env: SlackEnv) -> None:
    body = press(slack_env, "UAPPROVER", "reject")
    assert (await post(slack_env, body, signed(body))).status_code == 200
    [opened] = slack_env.slack.of("views.open")
    assert slack_env.slack.of("chat.update") == []
    assert (await approval(slack_env))["items"][0]["status"] == "pending"
    view = opened["view"]
    submission = {
        "type": "view_submission",
        "user": {"id": "UAPPROVER", "team_id": "T0TEAM"},
        "view": {
            "id": "V0TEST",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "state": {
                "values": {
                    slack_routes.REASON_BLOCK: {
                        slack_routes.REASON_ACTION: {
                            "type": "plain_text_input",
                            "value": "not during the sale",
                        }
                    }
                }
            },
        },
    }
    body = urlencode({"payload": json.dumps(submission)}).encode()
    assert (await post(slack_env, body, signed(body))).status_code == 200
    [item] = (await approval(slack_env))["items"]
    assert item["status"] == "rejected"
    assert item["decisions"][0]["reason"] == "not during the sale"
    [update] = slack_env.slack.of("chat.update")
    assert update["text"] == "k_scale in sandbox: rejected by approver (now rejected)"
