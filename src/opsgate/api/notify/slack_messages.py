"""Slack approval messages: each new approval request posted to its channel with buttons.

Run by the app's lifespan beside the webhook outbox (`SlackPoster.run_forever`) when Slack is
configured. It reads the audit log after its cursor (an instance option; it starts at the
log's end, so history is never posted) and, for each `approval.requested`, claims the
request's message in the database (`Store.claim_slack_message`: one replica posts it) and
posts it with `chat.postMessage`: per call the tool, object, context and namespace, the exact
command, the dry run's diff (cut to fit Slack's limits, with a link to the whole card) and
Approve / Reject buttons whose presses come back to `routes.slack`. Everything shown is the
redacted form the store keeps; the buttons carry only ids.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from opsgate.api.notify.slack import SlackApi
from opsgate.api.routes.slack import button_value
from opsgate.domain import targets
from opsgate.errors import OpsgateError
from opsgate.settings import SlackSettings
from opsgate.store.protocol import Store
from opsgate.store.records import ApprovalItem, ApprovalRequest

log = logging.getLogger("opsgate.slack")

CURSOR_OPTION = "slack.audit_cursor"
DIFF_CHARS = 2000
"""The diff shown in a message; Slack caps a section's text at 3000 characters."""


def channel_for(config: SlackSettings, context: str | None, namespace: str | None) -> str | None:
    """The most specific channel for a call's scope: `context/namespace`, `context`, default."""
    if context is not None and namespace is not None:
        found = config.channels.get(f"{context}/{namespace}")
        if found:
            return found
    if context is not None and context in config.channels:
        return config.channels[context]
    return config.channel


def _namespace(item: ApprovalItem) -> str | None:
    namespace = item.args.get("namespace")
    return namespace if isinstance(namespace, str) else None


def _call_blocks(request: ApprovalRequest, item: ApprovalItem, link: str) -> list[dict[str, Any]]:
    target = targets.call_object(item.tool, item.args) or "-"
    where = f"{item.context or '-'}" + (f" / {_namespace(item)}" if _namespace(item) else "")
    mark = " *DESTRUCTIVE*" if item.destructive else ""
    lines = [f"*{item.tool}* on `{target}` in *{where}*{mark}"]
    if item.command:
        lines.append(f"```{item.command[:500]}```")
    diff = item.preview or ""
    if diff:
        cut = len(diff) > DIFF_CHARS
        lines.append(f"```{diff[:DIFF_CHARS]}```")
        if cut:
            lines.append(f"_diff truncated; the whole card: <{link}|open in opsgate>_")
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {
            "type": "actions",
            "block_id": f"decide-{item.call_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": "approve",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": button_value(request.id, item.call_id),
                },
                {
                    "type": "button",
                    "action_id": "reject",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "value": button_value(request.id, item.call_id),
                },
            ],
        },
    ]


def message(request: ApprovalRequest, link: str) -> dict[str, Any]:
    """The `chat.postMessage` body (without the channel) for a request."""
    tools = ", ".join(item.tool for item in request.items)
    text = f"A change waits for approval: {tools} (<{link}|open in opsgate>)"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    for item in request.items:
        blocks += _call_blocks(request, item, link)
    return {"text": text, "blocks": blocks}


class SlackPoster:
    """Posts each new approval request to Slack; see the module docstring."""

    def __init__(self, store: Store, api: SlackApi, config: SlackSettings, link_base: str) -> None:
        self._store = store
        self._api = api
        self._config = config
        self._link_base = link_base.rstrip("/")

    async def start(self) -> None:
        """Begin at the audit log's end the first time (history is not news)."""
        if await self._store.get_option(CURSOR_OPTION) is None:
            head = await self._store.get_audit_head()
            await self._store.set_option(CURSOR_OPTION, head.seq if head is not None else 0)

    async def tick(self) -> None:
        cursor = int(await self._store.get_option(CURSOR_OPTION) or 0)
        events = await self._store.list_audit(limit=200, after_seq=cursor)
        for event in events:
            if event.kind == "approval.requested":
                await self._post(str(event.payload["approval_id"]))
        if events:
            await self._store.set_option(CURSOR_OPTION, events[-1].seq)

    async def run_forever(self, every_s: float) -> None:
        await self.start()
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("posting approval requests to Slack failed")
            await asyncio.sleep(every_s)

    async def _post(self, approval_id: str) -> None:
        request = await self._store.get_approval(approval_id)
        first = request.items[0]
        channel = channel_for(self._config, first.context, _namespace(first))
        if channel is None or not await self._store.claim_slack_message(approval_id, channel):
            return
        link = f"{self._link_base}/#/c/{request.conversation_id}"
        try:
            posted = await self._api.call(
                "chat.postMessage", {"channel": channel, **message(request, link)}
            )
        except OpsgateError as e:
            log.warning("approval %s was not posted to Slack: %s", approval_id, e)
            return
        await self._store.set_slack_message_ts(approval_id, str(posted.get("ts")))
