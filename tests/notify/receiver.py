"""A webhook receiver for the tests: a real HTTP server on loopback, in a thread of its own.

It records every request (headers and exact body) and answers with the status codes a test
queues (`answers`), then 200 once they run out.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fixtures.net import serving


@dataclass(frozen=True)
class Received:
    path: str
    headers: Message
    body: bytes

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    url: str
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, event: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.headers["X-Opsgate-Event"] == event]


@contextlib.contextmanager
def receiver() -> Iterator[Receiver]:
    found = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with found.lock:
                found.received.append(Received(self.path, self.headers, body))
                status = found.answers.pop(0) if found.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read what arrived, not a log of it."""

    with serving(Handler) as base_url:
        found.url = f"{base_url}/hooks/opsgate"
        yield found
