"""A stand-in for Slack's Web API, on loopback in a thread: answers like Slack and records calls.

Each method is `POST /api/<method>` with a JSON body and `Authorization: Bearer <bot token>`;
Slack answers 200 with `{"ok": true, ...}`, or `{"ok": false, "error": "invalid_auth"}` for a
wrong token (recorded too). Implemented: chat.postMessage, chat.update, views.open.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fixtures.net import serving

BOT_TOKEN = "xoxb-test-0123456789-abcdef"


@dataclass
class SlackStandIn:
    api_url: str = ""
    calls: list[tuple[str, dict[str, Any], bool]] = field(default_factory=list)
    """(method, body, whether the bearer token was right), in arrival order."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for name, body, authorised in self.calls if name == method and authorised]

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            return {"ok": True, "channel": body.get("channel"), "ts": "1764633600.000100"}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V0TEST", "type": "modal"}}
        return {"ok": False, "error": "unknown_method"}


@contextlib.contextmanager
def slack_stand_in() -> Iterator[SlackStandIn]:
    found = SlackStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            method = self.path.removeprefix("/api/")
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw or b"{}")
            authorised = self.headers.get("Authorization") == f"Bearer {BOT_TOKEN}"
            with found.lock:
                found.calls.append((method, body, authorised))
            answer = (
                found.answer(method, body)
                if authorised
                else {
                    "ok": False,
                    "error": "invalid_auth",
                }
            )
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read `calls`."""

    with serving(Handler) as base_url:
        found.api_url = f"{base_url}/api"
        yield found
