"""Slack's side of Slack approvals: the v0 request signature, and the Web API calls made.

The interactions route (`api.routes.slack`) checks every request with `verify` and answers a
button press with `SlackApi.update` on the pressed message. Slack signs `v0:<timestamp>:<body>`
with HMAC-SHA256 under the app's signing secret (`X-Slack-Signature: v0=<hex>`,
`X-Slack-Request-Timestamp`); a request older than five minutes is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx

from opsgate.errors import AuthError, OpsgateError, truncate

WINDOW_S = 300
"""Slack's documented window: a request whose timestamp is further from now is refused."""


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    signed = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(signing_secret: str, timestamp: str, given: str, body: bytes, *, now: float) -> None:
    """Raise `AuthError` unless `given` signs `body` at `timestamp` and that is recent."""
    if not timestamp.isdigit():
        raise AuthError("the Slack request has no valid X-Slack-Request-Timestamp")
    if abs(now - int(timestamp)) > WINDOW_S:
        raise AuthError("the Slack request's timestamp is outside the five-minute window")
    if not hmac.compare_digest(signature(signing_secret, timestamp, body), given):
        raise AuthError("the Slack request's signature does not verify")


class SlackApi:
    """The Web API methods opsgate calls, with the bot token as bearer."""

    def __init__(self, http: httpx.AsyncClient, api_url: str, bot_token: str) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._bot_token = bot_token

    async def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST one method; Slack answers 200 with `ok` false on errors, which raise here."""
        try:
            answer = await self._http.post(
                f"{self._api_url}/{method}",
                json=body,
                headers={"Authorization": f"Bearer {self._bot_token}"},
                timeout=10.0,
            )
            found: dict[str, Any] = answer.json()
        except (httpx.HTTPError, ValueError) as e:
            raise OpsgateError(f"Slack's {method} failed: {truncate(str(e), 200)}") from e
        if not found.get("ok"):
            raise OpsgateError(
                f"Slack's {method} answered {truncate(str(found.get('error')), 100)}"
            )
        return found

    async def update(self, channel: str, ts: str, text: str) -> None:
        """Replace the pressed message with `text` (its buttons go with it)."""
        await self.call(
            "chat.update",
            {
                "channel": channel,
                "ts": ts,
                "text": text,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            },
        )
