"""The baseline of `bench/stream.py`: a bare Starlette SSE server pushing the same events.

No store, engine, auth or bus: `POST /go` makes every open stream (`GET /streams/{i}`) send
`EVENTS_PER_RUN` events shaped like opsgate's (`api.routes.events.format_event`: the same
fields, an `at` and a `stored_at`, a last `run.finished`), one event loop, same uvicorn
settings. What it delivers per second, read by the same client, is what opsgate's figure
is divided by.

    .venv/bin/python bench/stream_parts/reference.py PORT    (started by bench/stream.py)
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

EVENTS_PER_RUN = 10
"""What one scripted run of `bench/stream.py` streams: started, tokens, plan, two reads, ..."""

_go: list[asyncio.Event] = []


def _event(event_id: int, kind: str, run_id: str, **data: object) -> str:
    now = datetime.now(UTC).isoformat()
    body = {**data, "at": now, "id": event_id, "type": kind, "run_id": run_id, "stored_at": now}
    text = json.dumps(body, separators=(",", ":"), default=str, ensure_ascii=False)
    return f"id: {event_id}\nevent: {kind}\ndata: {text}\n\n"


async def _events(stream: int) -> AsyncIterator[str]:
    go = asyncio.Event()
    _go.append(go)
    yield "retry: 2000\n\n"
    await go.wait()
    run_id = f"run-{stream:06d}"
    for n in range(1, EVENTS_PER_RUN):
        yield _event(n, "token", run_id, text="Checking both deployments. " * 2)
        await asyncio.sleep(0)
    yield _event(EVENTS_PER_RUN, "run.finished", run_id, status="completed", summary=[])


async def streams(request: Request) -> Response:
    return StreamingResponse(
        _events(int(request.path_params["stream"])), media_type="text/event-stream"
    )


async def go(request: Request) -> Response:
    for event in _go:
        event.set()
    _go.clear()
    return PlainTextResponse("started")


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[
        Route("/streams/{stream:int}", streams),
        Route("/go", go, methods=["POST"]),
        Route("/healthz", healthz),
    ]
)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False)
