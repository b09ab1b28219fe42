"""Bearer-token check in front of the tool server's streamable HTTP endpoint.

Installed by `opsgate.mcp.entry.http_app`; every HTTP request must carry
`Authorization: Bearer <settings.mcp_http_token>` or gets a 401 before it reaches MCP.
"""

from __future__ import annotations

import hmac

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class BearerAuth:
    """ASGI middleware refusing every HTTP request without the one configured bearer token."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("a bearer token is required")
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
