"""Records of outgoing webhooks and their deliveries, as the store returns them.

`sql_webhooks.WebhooksStore` makes them; the outbox (`api.notify.outbox`), the webhook routes
and the CLI read them. A webhook's signing secret is only ever filled when asked for with
`reveal=True` (the outbox, to sign), never in a listing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from opsgate.domain.notifications import WebhookEvent

DeliveryState = Literal["pending", "delivered", "failed"]
"""`pending`: not delivered yet, another attempt is due at `next_attempt_at`; `delivered`: a
2xx answer; `failed`: refused by the receiver (a 4xx) or out of attempts."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Webhook(_Record):
    id: str
    url: str
    events: list[WebhookEvent]
    created_by: str
    created_at: datetime
    cursor_seq: int
    """The last audit event the outbox has turned into deliveries for this webhook."""
    secret: str | None = None
    """Only filled when asked for with `reveal=True`."""


class DeliveryAttempt(_Record):
    """One try at telling a webhook: its answer's status code, or the error that stopped it."""

    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: int


class WebhookDelivery(_Record):
    id: str
    webhook_id: str
    audit_seq: int
    event: WebhookEvent
    body: str
    """The exact JSON text sent (and signed)."""
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_status: int | None = None
    last_error: str | None = None
    attempt_log: list[DeliveryAttempt]
    created_at: datetime
    finished_at: datetime | None = None


class NewDelivery(_Record):
    audit_seq: int
    event: WebhookEvent
    body: str
