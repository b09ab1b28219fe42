"""A small HTTP client for the opsgate API, used by `chat`, `ask`, `approvals`, `tokens login`.

Talks JSON with a bearer token; turns error responses into `OpsgateError`s with the server's
message; reads the Server-Sent Events stream of a conversation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import typer

from opsgate.api.sessions import CSRF_COOKIE, CSRF_HEADER
from opsgate.cli.common import load_settings
from opsgate.errors import Conflict, Forbidden, NotFound, OpsgateError, Unauthenticated, truncate

_BY_STATUS: dict[int, type[OpsgateError]] = {
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


@dataclass(frozen=True)
class SseEvent:
    id: int | None
    type: str
    data: dict[str, Any]


class ApiClient:
    """Synchronous client: the CLI is interactive and does one thing at a time."""

    def __init__(self, server_url: str, token: str | None, *, timeout_s: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=server_url.rstrip("/") + "/api/v1", headers=headers, timeout=timeout_s
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise OpsgateError(f"cannot reach the opsgate server: {e}") from e
        if response.status_code >= 400:
            raise _error_from(response)
        if not response.content:
            return None
        return response.json()

    def sign_in(self, username: str, password: str) -> None:
        """Open a session (cookies kept by this client) and send its CSRF token from now on."""
        self.request("POST", "/auth/login", json={"username": username, "password": password})
        self._http.headers[CSRF_HEADER] = self._http.cookies.get(CSRF_COOKIE) or ""

    def events(self, conversation_id: str, after: int) -> Iterator[SseEvent]:
        """Follow the conversation's event stream from after `after` until the server ends it."""
        try:
            with self._http.stream(
                "GET",
                f"/conversations/{conversation_id}/events",
                params={"after": after},
                headers={"Accept": "text/event-stream"},
                timeout=httpx.Timeout(30.0, read=None),
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error_from(response)
                yield from parse_sse(response.iter_lines())
        except httpx.HTTPError as e:
            raise OpsgateError(f"lost the event stream of the opsgate server: {e}") from e


def parse_sse(lines: Iterator[str]) -> Iterator[SseEvent]:
    """Parse `text/event-stream` lines into events (comments and heartbeats skipped)."""
    event_id: int | None = None
    event_type = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield SseEvent(event_id, event_type, json.loads("\n".join(data)))
            event_id, event_type, data = None, "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id" and value.isdigit():
            event_id = int(value)
        elif field == "event":
            event_type = value
        elif field == "data":
            data.append(value)


def _error_from(response: httpx.Response) -> OpsgateError:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = truncate(response.text, 300)
    return _BY_STATUS.get(response.status_code, OpsgateError)(f"{response.status_code}: {message}")


def connect(server: str | None, token: str | None) -> ApiClient:
    """A client for the server and token given on the command line, else from settings."""
    settings = load_settings()
    chosen = token or (settings.api_token.get_secret_value() if settings.api_token else None)
    if not chosen:
        raise typer.BadParameter(
            "an API token is needed: pass --token or set OPSGATE_API_TOKEN "
            "(make one of your own with `opsgate tokens login USER`)",
            param_hint="--token",
        )
    return ApiClient(server or settings.server_url, chosen)
