"""How a webhook delivery is signed, and the headers it carries (docs/notifications.md).

The outbox signs each delivery; the routes make each webhook's secret. The signature is
HMAC-SHA256, keyed by the webhook's secret, over `timestamp + "." + body` (the Unix time in
seconds as sent in `X-Opsgate-Timestamp`, then the exact body bytes), so a receiver can refuse
both a forged body and an old one replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

EVENT_HEADER = "X-Opsgate-Event"
DELIVERY_HEADER = "X-Opsgate-Delivery"
TIMESTAMP_HEADER = "X-Opsgate-Timestamp"
SIGNATURE_HEADER = "X-Opsgate-Signature"
SIGNATURE_PREFIX = "sha256="


def new_secret() -> str:
    """A fresh signing secret (shown once to the admin who creates the webhook)."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Opsgate-Signature` value of `body` sent at `timestamp`."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def headers(
    secret: str, *, event: str, delivery_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every header of one delivery's request."""
    return {
        "Content-Type": "application/json",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
