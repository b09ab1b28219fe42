"""The webhook outbox: turns audit events into signed deliveries and sends them, with retries.

Run by the app's lifespan (`run_forever`), one per replica. Each tick it first queues: for
every webhook, the audit events after its cursor that it is told of (`domain.notifications`),
queued and the cursor moved in one compare-and-set transaction (`Store.queue_deliveries`).
Then it sends: the due deliveries it could claim (`Store.claim_deliveries`), each signed
(`signing`) and posted; a 2xx is delivered, a network error, 5xx or 429 is retried after a
doubling wait until `webhook_max_attempts`, any other answer is final. Driven by the durable
audit log and the database, it survives restarts and shares the work between replicas.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from opsgate.api import sso
from opsgate.api.notify import signing
from opsgate.domain import notifications
from opsgate.errors import NotFound, truncate
from opsgate.settings import Settings
from opsgate.store.protocol import Store
from opsgate.store.webhook_records import (
    DeliveryAttempt,
    DeliveryState,
    NewDelivery,
    Webhook,
    WebhookDelivery,
)

log = logging.getLogger("opsgate.notify")

AUDIT_PAGE = 200
"""Audit events read per webhook per tick."""
ERROR_CHARS = 300
"""How much of a network error's text the delivery log keeps."""


@dataclass(frozen=True)
class OutboxConfig:
    link_base: str
    """Where the Command Center is reached (`OPSGATE_PUBLIC_URL`), for the payloads' links."""
    max_attempts: int
    backoff_s: float
    timeout_s: float
    claim_s: float
    """How long a claimed delivery is this replica's; longer than one attempt can take."""


def config_of(settings: Settings) -> OutboxConfig:
    return OutboxConfig(
        link_base=sso.public_base(settings),
        max_attempts=settings.webhook_max_attempts,
        backoff_s=settings.webhook_backoff_s,
        timeout_s=settings.webhook_timeout_s,
        # A claim outlives the longest attempt, so no replica takes over one still running.
        claim_s=settings.webhook_timeout_s + 30.0,
    )


class WebhookOutbox:
    """Queues and sends webhook deliveries; see the module docstring."""

    def __init__(
        self,
        store: Store,
        http: httpx.AsyncClient,
        config: OutboxConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._http = http
        self._config = config
        self._clock = clock

    async def tick(self) -> None:
        """Queue what the audit log added, then send what is due."""
        for webhook in await self._store.list_webhooks():
            await self._queue(webhook)
        claimed = await self._store.claim_deliveries(self._clock(), claim_s=self._config.claim_s)
        secrets: dict[str, str] = {}
        for delivery in claimed:
            if delivery.webhook_id not in secrets:
                webhook = await self._store.get_webhook(delivery.webhook_id, reveal=True)
                secrets[delivery.webhook_id] = webhook.secret or ""
            await self._send(delivery, secrets[delivery.webhook_id])

    async def run_forever(self, every_s: float) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("the webhook outbox's tick failed")
            await asyncio.sleep(every_s)

    async def _queue(self, webhook: Webhook) -> None:
        events = await self._store.list_audit(limit=AUDIT_PAGE, after_seq=webhook.cursor_seq)
        if not events:
            return
        told = set(webhook.events)
        deliveries = []
        for event in events:
            found = notifications.notification(event, self._config.link_base)
            if found is not None and found[0] in told:
                name, body = found
                if name == "approval.requested":
                    body["proposed_by"] = await self._proposer(body["approval_id"])
                text = json.dumps(body, separators=(",", ":"), sort_keys=True)
                deliveries.append(NewDelivery(audit_seq=event.seq, event=name, body=text))
        # False: another replica queued these events first; nothing to do.
        await self._store.queue_deliveries(
            webhook.id, from_seq=webhook.cursor_seq, to_seq=events[-1].seq, deliveries=deliveries
        )

    async def _proposer(self, approval_id: str) -> str | None:
        """Who proposed the request (the audit event's actor is the engine that asked)."""
        try:
            request = await self._store.get_approval(approval_id)
            return (await self._store.get_user(request.proposed_by)).username
        except NotFound:
            return None

    async def _send(self, delivery: WebhookDelivery, secret: str) -> None:
        body = delivery.body.encode()
        started = time.monotonic()
        at = self._clock()
        headers = signing.headers(
            secret,
            event=delivery.event,
            delivery_id=delivery.id,
            timestamp=int(at.timestamp()),
            body=body,
        )
        webhook = await self._store.get_webhook(delivery.webhook_id)
        status_code: int | None = None
        error: str | None = None
        try:
            answer = await self._http.post(
                webhook.url, content=body, headers=headers, timeout=self._config.timeout_s
            )
            status_code = answer.status_code
        except httpx.HTTPError as e:
            error = truncate(f"{type(e).__name__}: {e}", ERROR_CHARS)
        attempt = DeliveryAttempt(
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        state, next_at = self._outcome(delivery, status_code, at)
        if state != "delivered":
            log.warning(
                "webhook %s: delivery %s of %s attempt %d: %s",
                delivery.webhook_id,
                delivery.id,
                delivery.event,
                delivery.attempts + 1,
                error or f"answered {status_code}",
            )
        await self._store.record_attempt(delivery.id, attempt, state=state, next_attempt_at=next_at)

    def _outcome(
        self, delivery: WebhookDelivery, status_code: int | None, at: datetime
    ) -> tuple[DeliveryState, datetime]:
        if status_code is not None and 200 <= status_code < 300:
            return "delivered", at
        retryable = status_code is None or status_code >= 500 or status_code == 429
        if not retryable or delivery.attempts + 1 >= self._config.max_attempts:
            return "failed", at
        wait_s = self._config.backoff_s * 2**delivery.attempts
        return "pending", at + timedelta(seconds=wait_s)
