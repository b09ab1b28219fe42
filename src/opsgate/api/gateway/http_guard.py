"""In front of the gateway's streamable HTTP endpoint: Host/Origin checks and API tokens.

Installed by `gateway.serve.http_app`. Every request, in this order:
1. its `Host` must name an allowed host (`settings.mcp_allowed_hosts`, any port) and its
   `Origin`, when it has one, an allowed origin (`settings.mcp_allowed_origins`): else 403,
   so a web page cannot reach a local gateway through DNS rebinding;
2. `GET /.well-known/oauth-protected-resource[/mcp]` answers the OAuth 2.0 protected resource
   metadata (RFC 9728) naming opsgate as the authorization server, without credentials;
3. everything else needs `Authorization: Bearer <opsgate API token>` (`auth.token_principal`,
   the API's own check); without it: 401 with `WWW-Authenticate` pointing at the metadata.
The token's user goes on the request (`scope["state"][USER_KEY]`) for the tool calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from opsgate.api import auth
from opsgate.errors import Unauthenticated
from opsgate.store.protocol import Store

USER_KEY = "opsgate_user"
METADATA_PATH = "/.well-known/oauth-protected-resource"


def host_name(host: str) -> str:
    """`Host` without its port, lower case: `[::1]:8765` -> `[::1]`, `LocalHost` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class GatewayGuard:
    """ASGI middleware: allowlisted Host and Origin, resource metadata, API-token bearer."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Store,
        mcp_path: str,
        authorization_server: str,
        allowed_hosts: Sequence[str],
        allowed_origins: Sequence[str],
    ) -> None:
        self.app = app
        self.store = store
        self.mcp_path = mcp_path
        self.authorization_server = authorization_server.rstrip("/")
        self.allowed_hosts = frozenset(host_name(h) for h in allowed_hosts)
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if host_name(host) not in self.allowed_hosts:
            await self._refuse(scope, receive, send, 403, "forbidden_host", "Host not allowed")
            return
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in self.allowed_origins:
            await self._refuse(scope, receive, send, 403, "forbidden_origin", "Origin not allowed")
            return
        base = f"{scope.get('scheme', 'http')}://{host}"
        if scope["path"] in (METADATA_PATH, METADATA_PATH + self.mcp_path):
            await JSONResponse(self.metadata(base))(scope, receive, send)
            return
        try:
            principal = await auth.token_principal(self.store, headers.get("authorization", ""))
        except Unauthenticated as e:
            challenge = (
                f'Bearer resource_metadata="{base}{METADATA_PATH}", error="invalid_token", '
                f'error_description="{str(e).replace(chr(34), chr(39))}"'
            )
            response = JSONResponse(
                {"error": "unauthenticated", "message": f"an opsgate API token is required: {e}"},
                status_code=401,
                headers={"WWW-Authenticate": challenge},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[USER_KEY] = principal.user
        await self.app(scope, receive, send)

    def metadata(self, base: str) -> dict[str, Any]:
        """The protected resource metadata document (RFC 9728) of this endpoint."""
        return {
            "resource": f"{base}{self.mcp_path}",
            "authorization_servers": [self.authorization_server],
            "bearer_methods_supported": ["header"],
            "resource_name": "opsgate",
            "resource_documentation": f"{self.authorization_server}/#/",
        }

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        await JSONResponse({"error": code, "message": message}, status_code=status)(
            scope, receive, send
        )
