"""Signed, expiring session cookies and the CSRF token bound to each session.

Called by `opsgate.api.auth` (to read a request's session) and the auth routes (to issue and
end one). The cookie holds the user id, a session id, the CSRF token and the expiry, signed
with HMAC-SHA256 under the server's session key, so a forged or edited cookie is refused
without a database read. Whether a genuine session is still live is the database's answer:
the store keeps `session_hash(sid)` of each live session, and logging out, a password change
or disabling the user deletes it, in every replica and across restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, ValidationError

SESSION_COOKIE = "opsgate_session"
CSRF_COOKIE = "opsgate_csrf"
CSRF_HEADER = "X-CSRF-Token"
DEFAULT_SESSION_TTL_S = 12 * 3600


class Session(BaseModel):
    """What a genuine, unexpired session cookie says."""

    model_config = ConfigDict(frozen=True)

    uid: str
    sid: str
    csrf: str
    exp: float


def session_hash(session: Session) -> str:
    """What the store keeps of a session (never its id)."""
    return hashlib.sha256(session.sid.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SessionCodec:
    """Issues and checks session cookies with one key."""

    key: bytes
    ttl_s: int = DEFAULT_SESSION_TTL_S
    clock: Callable[[], float] = time.time

    def issue(self, user_id: str) -> tuple[str, Session]:
        session = Session(
            uid=user_id,
            sid=secrets.token_urlsafe(16),
            csrf=secrets.token_urlsafe(24),
            exp=self.clock() + self.ttl_s,
        )
        body = json.dumps(session.model_dump(), separators=(",", ":")).encode()
        return f"{_b64(body)}.{_b64(self._sign(body))}", session

    def read(self, cookie: str) -> Session | None:
        """The session if the cookie is genuine and unexpired; else None."""
        try:
            body_part, signature_part = cookie.split(".", 1)
            body = _unb64(body_part)
            signature = _unb64(signature_part)
        except (ValueError, UnicodeError):
            return None
        if not hmac.compare_digest(self._sign(body), signature):
            return None
        try:
            session = Session.model_validate_json(body)
        except ValidationError:
            return None
        if session.exp <= self.clock():
            return None
        return session

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.key, b"opsgate-session\0" + body, hashlib.sha256).digest()
