"""Security headers on every response, and request timing for the metrics.

Installed by the app factory as pure ASGI middleware (so streaming responses pass through
untouched). The CSP allows only the server's own origin: the UI ships no inline script or style.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgate.api.metrics import Metrics

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class SecurityHeadersMiddleware:
    """Adds the security headers (and `no-store` on API answers) to every response."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False, metrics: Metrics | None = None):
        self.app = app
        self.extra = list(_HEADERS)
        if hsts:
            self.extra.append((b"strict-transport-security", b"max-age=31536000"))
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = str(scope.get("path", "")).startswith("/api/")
        started_at = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.extra if h[0] not in present)
                if is_api and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
                self._observe(scope, started_at)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _observe(self, scope: Scope, started_at: float) -> None:
        if self.metrics is None:
            return
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.http_latency.labels(str(scope.get("method", "")), template).observe(
            time.perf_counter() - started_at
        )
