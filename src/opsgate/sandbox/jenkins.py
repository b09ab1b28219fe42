"""The sandbox's Jenkins-compatible HTTP API, a Starlette app.

`opsgate.sandbox.server` mounts `create_app(seed)` on its own port; tests run it with uvicorn
(`tests/fixtures/jenkins.py`). Like a secured Jenkins it wants basic auth with a user and API
token on every request, and on POSTs the crumb from `/crumbIssuer/api/json` in the
`Jenkins-Crumb` header (or form field), else 403. State lives in `jenkins_state.JenkinsWorld`;
JSON shapes in `jenkins_json`; `tree=` filtering in `jenkins_tree`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from opsgate.sandbox import jenkins_json, jenkins_seed
from opsgate.sandbox.jenkins_state import (
    Build,
    Clock,
    Folder,
    JenkinsRequestError,
    JenkinsWorld,
    Job,
)
from opsgate.sandbox.jenkins_tree import apply_tree, parse_tree

SANDBOX_JENKINS_USER = "admin"
# Deliberately public: it only opens the local sandbox, never a real Jenkins.
SANDBOX_JENKINS_TOKEN = "11a0c5e2f8d3b6a9e4f1c7d2b5a8e3f6c9"  # noqa: S105
CRUMB_FIELD = "Jenkins-Crumb"
PERMALINKS = (
    "lastBuild",
    "lastCompletedBuild",
    "lastFailedBuild",
    "lastStableBuild",
    "lastSuccessfulBuild",
    "lastUnstableBuild",
    "lastUnsuccessfulBuild",
    "firstBuild",
)

Handler = Callable[[Request, str], Awaitable[Response]]


class _Sandbox:
    """The world plus the request handling around it (auth, crumbs, routing of job paths)."""

    def __init__(self, world: JenkinsWorld) -> None:
        self.world = world
        self._crumb_key = secrets.token_bytes(32)

    def crumb_for(self, user: str) -> str:
        return hmac.new(self._crumb_key, user.encode(), hashlib.sha256).hexdigest()

    def user_of(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise JenkinsRequestError(403, "Authentication required")
        try:
            user, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise JenkinsRequestError(401, "Malformed basic authentication header") from e
        good_user = hmac.compare_digest(user.encode(), SANDBOX_JENKINS_USER.encode())
        good_token = hmac.compare_digest(token.encode(), SANDBOX_JENKINS_TOKEN.encode())
        if not (good_user and good_token):
            raise JenkinsRequestError(401, f"Invalid password/token for user: {user[:64]}")
        return user

    async def check_crumb(self, request: Request, user: str) -> dict[str, str]:
        """The submitted form, after checking the POST carries this user's crumb."""
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        crumb = request.headers.get(CRUMB_FIELD) or form.get(CRUMB_FIELD, "")
        if not hmac.compare_digest(crumb.encode(), self.crumb_for(user).encode()):
            raise JenkinsRequestError(403, "No valid crumb was included in the request")
        return form

    def wrap(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                user = self.user_of(request)
                return await handler(request, user)
            except JenkinsRequestError as e:
                headers = {"WWW-Authenticate": 'Basic realm="Jenkins"'} if e.status == 401 else {}
                return PlainTextResponse(e.message, status_code=e.status, headers=headers)

        return endpoint

    # ---- helpers --------------------------------------------------------------------------
    def json(self, request: Request, full: dict[str, Any], shallow: dict[str, Any]) -> Response:
        tree = request.query_params.get("tree")
        body = apply_tree(full, parse_tree(tree)) if tree else shallow
        return JSONResponse(body)

    @staticmethod
    def base(request: Request) -> str:
        return str(request.base_url)

    # ---- top-level routes -----------------------------------------------------------------
    async def root(self, request: Request, user: str) -> Response:
        now = self.world.advance()
        queue = list(self.world.queue.values())
        base = self.base(request)
        return self.json(
            request,
            jenkins_json.folder_json(self.world.root, base, now, True, queue),
            jenkins_json.folder_json(self.world.root, base, now, False, queue),
        )

    async def crumb(self, request: Request, user: str) -> Response:
        return JSONResponse(
            {
                "_class": "hudson.security.csrf.DefaultCrumbIssuer",
                "crumb": self.crumb_for(user),
                "crumbRequestField": CRUMB_FIELD,
            }
        )

    async def me(self, request: Request, user: str) -> Response:
        return JSONResponse(
            {
                "_class": "hudson.model.User",
                "absoluteUrl": f"{self.base(request)}user/{user}",
                "description": None,
                "fullName": user,
                "id": user,
                "property": [],
            }
        )

    async def who_am_i(self, request: Request, user: str) -> Response:
        return JSONResponse(
            {
                "_class": "hudson.security.WhoAmI",
                "anonymous": False,
                "authenticated": True,
                "authorities": ["authenticated"],
                "name": user,
                "toString": f"UsernamePasswordAuthenticationToken [Principal={user}]",
            }
        )

    async def queue(self, request: Request, user: str) -> Response:
        now = self.world.advance()
        base = self.base(request)
        waiting = [
            jenkins_json.queue_item_json(item, base, now)
            for item in self.world.queue.values()
            if item.build_number is None and not item.cancelled
        ]
        shaped = {"_class": "hudson.model.Queue", "discoverableItems": [], "items": waiting}
        return self.json(request, shaped, shaped)

    async def queue_item(self, request: Request, user: str) -> Response:
        now = self.world.advance()
        item = self.world.queue.get(int(request.path_params["item_id"]))
        if item is None:
            raise JenkinsRequestError(404, "No such queue item")
        shaped = jenkins_json.queue_item_json(item, self.base(request), now)
        return self.json(request, shaped, shaped)

    # ---- /job/... -------------------------------------------------------------------------
    async def job_route(self, request: Request, user: str) -> Response:
        segments = [s for s in request.path_params["rest"].split("/")]
        names = [segments[0]]
        index = 1
        while index + 1 < len(segments) and segments[index] == "job":
            names.append(segments[index + 1])
            index += 2
        rest = [s for s in segments[index:] if s]
        now = self.world.advance()
        node = self.world.find("/".join(names))
        if rest in ([], ["api", "json"]):
            return self.item_json(request, node, now)
        if not isinstance(node, Job):
            raise JenkinsRequestError(404, f"Not found in folder {node.full_name!r}: {rest[0]!r}")
        if rest[0] in ("build", "buildWithParameters") and len(rest) == 1:
            return await self.trigger(request, user, node, parameterised=rest[0] != "build")
        build = self.resolve_build(node, rest[0], now)
        return await self.build_route(request, user, node, build, rest[1:], now)

    def item_json(self, request: Request, node: Job | Folder, now: float) -> Response:
        base = self.base(request)
        queue = list(self.world.queue.values())
        if isinstance(node, Folder):
            full = jenkins_json.folder_json(node, base, now, True, queue)
            shallow = jenkins_json.folder_json(node, base, now, False, queue)
            return self.json(request, full, shallow)
        queued = [q for q in queue if q.job is node and q.build_number is None and not q.cancelled]
        return self.json(
            request,
            jenkins_json.job_json(node, base, now, True, queued),
            jenkins_json.job_json(node, base, now, False, queued),
        )

    def resolve_build(self, job: Job, ref: str, now: float) -> Build:
        if ref.isdigit():
            return self.world.build(job, int(ref))
        if ref in PERMALINKS:
            build = jenkins_json.permalinks(job, now)[ref]
            if build is None:
                raise JenkinsRequestError(404, f"{job.full_name!r} has no {ref}")
            return build
        raise JenkinsRequestError(404, f"Not found: {ref[:100]!r}")

    async def trigger(self, request: Request, user: str, job: Job, parameterised: bool) -> Response:
        if request.method != "POST":
            raise JenkinsRequestError(405, "This URL requires POST")
        form = await self.check_crumb(request, user)
        given = {**dict(request.query_params), **form}
        given.pop(CRUMB_FIELD, None)
        if parameterised and not job.params:
            # Jenkins answers this with a 500 from an IllegalStateException, not a 400.
            raise JenkinsRequestError(500, "java.lang.IllegalStateException: not parameterized")
        if not parameterised and job.params:
            raise JenkinsRequestError(400, "Nothing is submitted")
        item = self.world.enqueue(job, given, user)
        location = f"{self.base(request)}queue/item/{item.id}/"
        return Response(status_code=201, headers={"Location": location})

    async def build_route(
        self, request: Request, user: str, job: Job, build: Build, rest: list[str], now: float
    ) -> Response:
        base = self.base(request)
        if rest in ([], ["api", "json"]):
            shaped = jenkins_json.build_json(job, build, base, now)
            return self.json(request, shaped, shaped)
        if rest == ["consoleText"]:
            return PlainTextResponse(build.console(now))
        if rest == ["logText", "progressiveText"]:
            return self.progressive(request, build, now)
        action: Literal["stop", "submitDescription"] | None = None
        if rest == ["stop"]:
            action = "stop"
        elif rest == ["submitDescription"]:
            action = "submitDescription"
        if action is None:
            raise JenkinsRequestError(404, f"Not found: {'/'.join(rest)[:100]!r}")
        if request.method != "POST":
            raise JenkinsRequestError(405, "This URL requires POST")
        form = await self.check_crumb(request, user)
        if action == "stop":
            self.world.stop(build, user)
        else:
            build.description = form.get("description", "")[:10_000]
        location = f"{jenkins_json.item_url(base, job.full_name)}{build.number}/"
        return Response(status_code=302, headers={"Location": location})

    @staticmethod
    def progressive(request: Request, build: Build, now: float) -> Response:
        raw_start = request.query_params.get("start", "0")
        if not raw_start.isdigit():
            raise JenkinsRequestError(400, f"Bad start offset: {raw_start[:20]!r}")
        text = build.console(now).encode()
        start = int(raw_start)
        if start > len(text):
            start = 0  # the log rolled over, as Jenkins's LargeText assumes
        headers = {"X-Text-Size": str(len(text))}
        if build.is_building(now):
            headers["X-More-Data"] = "true"
        return Response(text[start:], media_type="text/plain; charset=utf-8", headers=headers)


def create_app(
    seed: Literal["demo", "empty"],
    *,
    clock: Clock = time.time,
    queue_delay_s: float = 0.5,
    time_scale: float = 1.0,
) -> Starlette:
    """A sandbox Jenkins; `time_scale` < 1 makes queue waits and builds proportionally faster."""
    world = JenkinsWorld(clock, queue_delay_s=queue_delay_s, time_scale=time_scale)
    if seed == "demo":
        jenkins_seed.seed_demo(world, clock())
    sandbox = _Sandbox(world)
    routes = [
        Route("/api/json", sandbox.wrap(sandbox.root)),
        Route("/crumbIssuer/api/json", sandbox.wrap(sandbox.crumb)),
        Route("/me/api/json", sandbox.wrap(sandbox.me)),
        Route("/whoAmI/api/json", sandbox.wrap(sandbox.who_am_i)),
        Route("/queue/api/json", sandbox.wrap(sandbox.queue)),
        Route("/queue/item/{item_id:int}/api/json", sandbox.wrap(sandbox.queue_item)),
        Route("/job/{rest:path}", sandbox.wrap(sandbox.job_route), methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.jenkins_world = world
    return app
