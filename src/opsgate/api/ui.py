"""Serves the Command Center's files (`api/static/`, written by the UI engineer).

`/`, `/login` and `/setup` answer `index.html` (the single-page app routes itself);
`/assets/<path>` answers files under `static/assets/` with an explicit content type, an ETag
and `no-cache` (always revalidated, since file names carry no content hash). An asset path is
checked against the names our files have (`ASSET_PATH`) before it touches the file system, so
NUL, dot segments, backslashes, overlong or non-ASCII names are a plain 404; a path that
still resolves outside the assets directory (a symlink) is refused too.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from opsgate.errors import NotFound

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
CACHE_CONTROL = "no-cache"
ASSET_PATH = re.compile(
    r"([A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}/){0,8}[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}"
)
"""Slash-separated names of letters, digits, `_`, `-` and `.`, never starting with a dot."""


def router(static_dir: Path = STATIC_DIR) -> APIRouter:
    """The routes serving the UI from `static_dir`."""
    routes = APIRouter(include_in_schema=False)
    assets = (static_dir / "assets").resolve()

    def _file(path: Path) -> Response:
        if not path.is_file():
            raise NotFound("no such file")
        media_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})

    async def index(request: Request) -> Response:
        return _file(static_dir / "index.html")

    for page in ("/", "/login", "/setup"):
        routes.add_api_route(page, index, methods=["GET"])

    @routes.get("/assets/{path:path}")
    async def asset(path: str) -> Response:
        if not ASSET_PATH.fullmatch(path):
            raise NotFound("no such file")
        target = (assets / path).resolve()
        if not target.is_relative_to(assets):
            raise NotFound("no such file")
        return _file(target)

    return routes
