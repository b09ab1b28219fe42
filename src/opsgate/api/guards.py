"""Guards in front of every route: odd request targets and unbounded bodies never reach one.

Installed by the app factory inside the security-headers middleware (so refusals carry those
headers) and ahead of routing, so no route, validator or JSON parser ever sees

- a path or query with control characters (NUL included) or percent-encoded bytes that are
  not UTF-8 (400), or a target longer than `MAX_TARGET_BYTES` (414);
- a body over the configured limit (413): a declared Content-Length over it is refused at
  once, and a chunked or under-declared body is counted as it arrives and refused the moment
  it passes the limit;
- a body that has not arrived in full within the body timeout (408).

Bodies are read here in full and then handed on (the routes read whole JSON bodies anyway).
Refusals ask the server to close the connection, so the rest of a refused body is never read.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import unquote_to_bytes

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsgate.api.errors import error_body

MAX_TARGET_BYTES = 8 * 1024
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Unicode's control characters (category Cc): C0, DEL and C1."""
_PLAIN = re.compile(rb"[!-$&-~]*")
"""Printable ASCII without `%`: nothing to decode, nothing to check (most requests)."""


def _target_problem(scope: Scope) -> tuple[int, str] | None:
    """Why the request's path or query cannot be a URL of ours, as (status, message)."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    if len(raw_path) + len(query) > MAX_TARGET_BYTES:
        return 414, f"the request target is longer than {MAX_TARGET_BYTES} bytes"
    if _PLAIN.fullmatch(raw_path) and _PLAIN.fullmatch(query):
        return None
    for part, what in ((raw_path, "path"), (query.replace(b"+", b" "), "query")):
        try:
            text = unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            return 400, f"the request {what} is not valid UTF-8"
        if _CONTROL.search(text):
            return 400, f"the request {what} contains control characters"
    return None


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length header's value; None when absent; -1 when it is not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


def _has_body(scope: Scope, declared: int | None) -> bool:
    chunked = any(name == b"transfer-encoding" for name, _ in scope["headers"])
    return chunked or bool(declared)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    code = {400: "bad_request", 408: "request_timeout", 413: "too_large", 414: "too_long"}
    response = JSONResponse(
        error_body(code[status], message), status_code=status, headers={"Connection": "close"}
    )
    await response(scope, receive, send)


class RequestGuard:
    """The guards above, as pure ASGI middleware."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_s: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _target_problem(scope)
        if problem is not None:
            await _refuse(scope, receive, send, *problem)
            return
        declared = _declared_length(scope)
        if declared == -1:
            await _refuse(scope, receive, send, 400, "the Content-Length header is not a number")
            return
        if declared is not None and declared > self.max_body_bytes:
            await _refuse(scope, receive, send, 413, self._too_large())
            return
        if not _has_body(scope, declared):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away before sending its whole body
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        await _refuse(scope, receive, send, 413, self._too_large())
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _refuse(
                scope, receive, send, 408, f"the body did not arrive within {self.body_timeout_s} s"
            )
            return
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the whole body once, then whatever the server sends next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
