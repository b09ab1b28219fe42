"""Bearer-token check in front of the tool server's streamable HTTP endpoint.

Installed by `opsgate.mcp.entry.http_app`; every HTTP request must carry
`Authorization: Bearer <settings.mcp_http_token>` or gets a 401 before it reaches MCP.
A token that is short or made of a handful of characters is refused at start-up: anyone who
can guess it can run every read tool, and mutations with any token they hold.
"""

from __future__ import annotations

import hmac
import math
from collections import Counter

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from opsgate.errors import ConfigError
from opsgate.settings import HOW_TO_MAKE_A_KEY

MIN_TOKEN_CHARS = 32
MIN_DISTINCT_CHARS = 8
MIN_BITS_PER_CHAR = 2.5
"""Shannon entropy of the token's own character counts. Random tokens pass with room to spare
(`token_urlsafe`: 4.4 or more, 32 hex digits: 2.9 or more); `aaaa…`, `abab…`, a word repeated,
or a long run of one character with a few others do not."""


def require_strong_token(token: str) -> None:
    """Raise `ConfigError` (saying why and how to make one) unless `token` looks random."""
    bits, distinct = _bits_per_char(token), len(set(token))
    if (
        len(token) >= MIN_TOKEN_CHARS
        and distinct >= MIN_DISTINCT_CHARS
        and bits >= MIN_BITS_PER_CHAR
    ):
        return
    raise ConfigError(
        f"OPSGATE_MCP_HTTP_TOKEN is too weak ({len(token)} characters, {distinct} different, "
        f"{bits:.1f} bits of entropy per character); it needs at least {MIN_TOKEN_CHARS} "
        f"characters, {MIN_DISTINCT_CHARS} different ones and {MIN_BITS_PER_CHAR} bits per "
        f"character (not one repeated character or a tiny alphabet); make one with "
        f"`{HOW_TO_MAKE_A_KEY}`"
    )


def _bits_per_char(token: str) -> float:
    if not token:
        return 0.0
    counts = Counter(token).values()
    return -sum(n / len(token) * math.log2(n / len(token)) for n in counts)


class BearerAuth:
    """ASGI middleware refusing every HTTP request without the one configured bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        require_strong_token(token)
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorised(scope):
            response = JSONResponse(
                {"error": "unauthenticated", "message": "a valid bearer token is required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="opsgate-mcp"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                return hmac.compare_digest(value, self._expected)
        return False
