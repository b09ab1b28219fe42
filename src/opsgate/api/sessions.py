"""Signed, expiring session cookies and the CSRF token bound to each session.

Called by `opsgate.api.auth` (to read a request's session) and the auth routes (to issue and
end one). The cookie holds the user id, a session id, the CSRF token, the expiry and a
fingerprint of the password hash (so a password change ends old sessions), signed with
HMAC-SHA256 under the server's session key. Logged-out session ids are remembered in memory
until they would have expired anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, ValidationError

SESSION_COOKIE = "opsgate_session"
CSRF_COOKIE = "opsgate_csrf"
CSRF_HEADER = "X-CSRF-Token"
DEFAULT_SESSION_TTL_S = 12 * 3600
_MAX_REVOKED = 100_000


class Session(BaseModel):
    """What a valid session cookie proves."""

    model_config = ConfigDict(frozen=True)

    uid: str
    sid: str
    csrf: str
    exp: float
    pw: str
    """Fingerprint of the password hash the session was opened with."""


def password_fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SessionCodec:
    """Issues and checks session cookies with one key; keeps the set of ended sessions."""

    key: bytes
    ttl_s: int = DEFAULT_SESSION_TTL_S
    clock: Callable[[], float] = time.time
    _revoked: dict[str, float] = field(default_factory=dict)

    def issue(self, user_id: str, password_hash: str | None) -> tuple[str, Session]:
        session = Session(
            uid=user_id,
            sid=secrets.token_urlsafe(16),
            csrf=secrets.token_urlsafe(24),
            exp=self.clock() + self.ttl_s,
            pw=password_fingerprint(password_hash),
        )
        body = json.dumps(session.model_dump(), separators=(",", ":")).encode()
        return f"{_b64(body)}.{_b64(self._sign(body))}", session

    def read(self, cookie: str) -> Session | None:
        """The session if the cookie is genuine, unexpired and not logged out; else None."""
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
        if session.exp <= self.clock() or session.sid in self._revoked:
            return None
        return session

    def revoke(self, session: Session) -> None:
        now = self.clock()
        if len(self._revoked) >= _MAX_REVOKED:
            self._revoked = {sid: exp for sid, exp in self._revoked.items() if exp > now}
        self._revoked[session.sid] = session.exp

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.key, b"opsgate-session\0" + body, hashlib.sha256).digest()
