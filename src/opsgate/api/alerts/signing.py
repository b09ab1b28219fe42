"""Who may post alerts: a bearer token or an HMAC-SHA256 signature, from `AlertSettings`.

Called by `api.routes.alerts` before the body is parsed. A bearer token is what Alertmanager's
`http_config.authorization` sends; a signature suits senders that sign (docs/alerts.md gives
the recipe): `X-Opsgate-Signature: sha256=<hex>` of `<X-Opsgate-Timestamp>.<body>` under the
secret, the timestamp within `MAX_SKEW_S` of the server's clock (an old capture is refused).
Comparisons take constant time; nothing of a presented credential is logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from opsgate.errors import Unauthenticated
from opsgate.settings import AlertSettings

SIGNATURE_HEADER = "X-Opsgate-Signature"
TIMESTAMP_HEADER = "X-Opsgate-Timestamp"
MAX_SKEW_S = 300
NOT_CONFIGURED = (
    "alert intake is not configured: set OPSGATE_ALERTS__TOKEN or OPSGATE_ALERTS__HMAC_SECRET "
    "(docs/alerts.md)"
)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Opsgate-Signature` value of `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def authenticate(
    settings: AlertSettings, headers: Mapping[str, str], body: bytes, *, now: float
) -> str:
    """How the sender proved itself (`token` or `signature`).

    Raises:
        Unauthenticated: no credential, a wrong one, or a signature outside the time window;
            and every request while neither a token nor an HMAC secret is configured (no
            credential can be right then).
    """
    if not settings.configured:
        raise Unauthenticated(NOT_CONFIGURED)
    authorization = headers.get("authorization", "")
    scheme, _, presented = authorization.partition(" ")
    if settings.token is not None and scheme.lower() == "bearer" and presented:
        expected = settings.token.get_secret_value().encode()
        if hmac.compare_digest(presented.strip().encode(), expected):
            return "token"
        raise Unauthenticated("the alert intake token is wrong")
    sent = headers.get(SIGNATURE_HEADER.lower())
    if settings.hmac_secret is not None and sent is not None:
        timestamp = headers.get(TIMESTAMP_HEADER.lower(), "")
        if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_SKEW_S:
            raise Unauthenticated(
                f"{TIMESTAMP_HEADER} must be the unix time of sending, within {MAX_SKEW_S} s"
            )
        expected_signature = signature(settings.hmac_secret.get_secret_value(), timestamp, body)
        if hmac.compare_digest(sent.strip().encode(), expected_signature.encode()):
            return "signature"
        raise Unauthenticated("the alert signature does not match the body")
    accepted = [
        what
        for what, secret in (
            ("a bearer token", settings.token),
            (f"an {SIGNATURE_HEADER} signature", settings.hmac_secret),
        )
        if secret is not None
    ]
    raise Unauthenticated(f"alerts need {' or '.join(accepted)}")
