"""How the API is served: uvicorn, configured against slow and numerous clients.

Called by `opsgate serve` / `opsgate demo` (`cli.serve._serve_app`) and by the tests' live
server, so tests run the configuration production runs. From the settings: idle keep-alive
connections close after `keep_alive_timeout_s`, request line and headers are capped at
`max_header_bytes` (400 beyond), and beyond `max_connections` open connections new requests
get 503. uvicorn has no deadline for a request's headers, so the HTTP protocol here adds one:
a connection whose request headers are not complete `header_timeout_s` after it opened (or
after its previous response) is closed. Body size and body time are the app's own guards
(`api.guards`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from opsgate.settings import Settings


def header_deadline_protocol(header_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose headers arrive too slowly."""

    class HeaderDeadlineProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            # A new request starts arriving (h11 waits for headers in IDLE): start its clock.
            if self._deadline is None and self.conn.their_state is h11.IDLE:
                self._arm()
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _headers_too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadlineProtocol


def uvicorn_config(
    app: FastAPI,
    settings: Settings,
    *,
    port: int | None = None,
    lifespan: Literal["auto", "on", "off"] = "auto",
    log_config: dict[str, Any] | None = None,
) -> uvicorn.Config:
    """The server for `app` on `settings.host` and `port` (default `settings.port`).

    `log_config` (`api.logs.dict_config`) replaces uvicorn's own logging set-up; without it,
    uvicorn configures only its loggers, as it does for the tests' servers.
    """
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port if port is None else port,
        log_level=settings.log_level.lower(),
        log_config=uvicorn.config.LOGGING_CONFIG if log_config is None else log_config,
        lifespan=lifespan,
        proxy_headers=False,
        http=header_deadline_protocol(settings.header_timeout_s),
        timeout_keep_alive=settings.keep_alive_timeout_s,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        limit_concurrency=settings.max_connections,
    )
