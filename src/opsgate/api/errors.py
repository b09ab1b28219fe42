"""Every failure leaves the API as `{"error": {"code", "message", "field"}}`, never a trace.

`install(app)` is called by the app factory: `OpsgateError` subclasses map to statuses by
class, request validation names the field, Starlette's HTTP errors keep their status, and
anything unexpected becomes a bare 500 (`CatchAllMiddleware`), logged server-side only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgate import errors
from opsgate.api.ratelimit import RateLimited

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[errors.OpsgateError], int]] = [
    (RateLimited, 429),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.IdentityProviderError, 502),
    (errors.AuthError, 401),
    (errors.InvalidInput, 422),
    (errors.PolicyError, 422),
    (errors.NotFound, 404),
    (errors.ToolNotFound, 404),
    (errors.Conflict, 409),
    (errors.DecisionRefused, 403),
    (errors.ApprovalRequired, 403),
    (errors.ConfigError, 503),
    (errors.ModelError, 503),
    (errors.BinaryNotFound, 503),
    (errors.ToolTimeout, 504),
    (errors.ToolError, 502),
    (errors.RunStopped, 409),
    (errors.StoreError, 503),
]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


def status_for(error: errors.OpsgateError) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


async def _opsgate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.OpsgateError)
    status = status_for(exc)
    field = exc.parameter if isinstance(exc, errors.InvalidInput) else None
    message = errors.truncate(str(exc) or exc.code, 500)
    if status >= 500 and status != 503:
        log.warning("request failed with %s: %s", exc.code, message)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(int(exc.retry_after_s) + 1)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="opsgate"'
    return JSONResponse(error_body(exc.code, message, field), status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    first = problems[0] if problems else {}
    field = _field_of(first.get("loc", ()))
    message = str(first.get("msg", "invalid request"))
    if field:
        message = f"{field}: {message}"
    details = [
        {"field": _field_of(p.get("loc", ())), "message": str(p.get("msg", ""))}
        for p in problems[:20]
    ]
    body = error_body("invalid_input", errors.truncate(message, 500), field)
    body["error"]["details"] = details
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code
    return JSONResponse(
        error_body(code, errors.truncate(detail, 500)),
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


class CatchAllMiddleware:
    """Turns an unexpected exception into a plain JSON 500; the trace goes to the log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                return
            response = JSONResponse(
                error_body("internal_error", "internal server error"), status_code=500
            )
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.OpsgateError, _opsgate_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
