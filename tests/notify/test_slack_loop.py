"""The whole Slack loop over the real app and the Slack Web API stand-in: a change waits ->
the message is posted (call, object, context, command, diff, buttons) -> a signed press ->
the change runs -> the message is updated -> the audit names the Slack-mapped user.
Also: the channel follows the context/namespace mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from opsgate.api.notify.slack_messages import channel_for, message
from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.settings import SlackSettings
from opsgate.store.records import ApprovalItem, ApprovalRequest
from tests.fixtures.api import running_app, wait_for
from tests.inbox.test_inbox_api import propose
from tests.notify.slack_standin import BOT_TOKEN, slack_stand_in
from tests.notify.test_slack_interactions import SIGNING_SECRET, signed
from tests.notify.test_webhooks import FAST

CHANNEL = "C0APPROVALS"


def test_the_channel_is_the_most_specific_mapping() -> None:
    config = SlackSettings(
        bot_token=BOT_TOKEN,  # type: ignore[arg-type]
        signing_secret=SIGNING_SECRET,  # type: ignore[arg-type]
        channels={"prod": "C0PROD", "prod/payments": "C0PAY"},
        channel="C0ALL",
    )
    assert channel_for(config, "prod", "payments") == "C0PAY"
    assert channel_for(config, "prod", "shop") == "C0PROD"
    assert channel_for(config, "prod", None) == "C0PROD"
    assert channel_for(config, "staging", "shop") == "C0ALL"
    unmapped = config.model_copy(update={"channel": None})
    assert channel_for(unmapped, "staging", None) is None


def test_a_long_diff_is_cut_with_a_link_to_the_whole_card() -> None:
    now = datetime.now(UTC)
    item = ApprovalItem(
        call_id="call_1",
        tool="k8s_apply",
        args={"namespace": "shop"},
        context="prod",
        destructive=True,
        call_hash="0" * 64,
        preview="+ line\n" * 1000,
        command="kubectl apply --filename -",
        status="pending",
        decision=None,
    )
    request = ApprovalRequest(
        id="apr_1",
        run_id="run_1",
        conversation_id="cnv_1",
        proposed_by="usr_1",
        created_at=now,
        expires_at=now,
        items=[item],
    )
    body = message(request, "https://opsgate.example.test/#/c/cnv_1")
    section = body["blocks"][1]["text"]["text"]
    assert len(section) < 3000
    assert "*k8s_apply* on `-` in *prod / shop* *DESTRUCTIVE*" in section
    assert section.endswith(
        "_diff truncated; the whole card: <https://opsgate.example.test/#/c/cnv_1|open in opsgate>_"
    )


async def test_request_message_press_run_update_and_audit(tmp_path: Path) -> None:
    with slack_stand_in() as stand_in:
        config = {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_url": stand_in.api_url,
            "channel": CHANNEL,
        }
        async with (
            running_app(tmp_path / "data", slack=config, **FAST) as env,
            env.client() as anonymous,
            env.client("operator") as operator,
            env.client("viewer") as viewer,
        ):
            await env.state.store.link_slack(env.users["approver"].id, "UAPPROVER")
            conversation_id = await propose(operator)

            async def posted() -> list[dict[str, Any]]:
                return stand_in.of("chat.postMessage")

            [message] = await wait_for(posted, 30)
            buttons = [
                element
                for block in message["blocks"]
                if block["type"] == "actions"
                for element in block["elements"]
            ]
            text = "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
            approve = next(b for b in buttons if b["action_id"] == "approve")
            payload = {
                "type": "block_actions",
                "user": {"id": "UAPPROVER", "team_id": "T0TEAM"},
                "container": {
                    "type": "message",
                    "message_ts": "1764633600.000100",
                    "channel_id": CHANNEL,
                },
                "trigger_id": "1.2.3",
                "actions": [{"action_id": "approve", "type": "button", "value": approve["value"]}],
            }
            body = urlencode({"payload": json.dumps(payload)}).encode()
            pressed = await anonymous.post(
                "/api/v1/slack/interactions", content=body, headers=signed(body)
            )
            assert pressed.status_code == 200, pressed.text

            async def finished() -> dict[str, Any] | None:
                runs = (await viewer.get(f"/api/v1/conversations/{conversation_id}")).json()
                run_id = runs["runs"][-1]["id"]
                run = (await viewer.get(f"/api/v1/runs/{run_id}")).json()
                return run if run["run"]["status"] in FINAL_RUN_STATUSES else None

            run = await wait_for(finished, 30)
            audit = (await viewer.get("/api/v1/audit", params={"kind": "approval.granted"})).json()
    assert message["channel"] == CHANNEL
    assert "*k_scale* on `-` in *sandbox*" in text
    assert f"#/c/{conversation_id}" in message["text"]
    assert "```kubectl scale deployment/frontend --replicas=4```" in text
    assert "```would scale frontend to 4```" in text
    assert [b["action_id"] for b in buttons] == ["approve", "reject"]
    assert run["run"]["status"] == "completed"
    assert env.cluster.mutations() == [("scale", "frontend", "4")]
    [update] = stand_in.of("chat.update")
    assert update["text"] == "k_scale in sandbox: approved by approver (now approved)"
    [granted] = audit["items"]
    assert granted["actor_name"] == "approver"
    assert granted["actor_id"] == env.users["approver"].id
