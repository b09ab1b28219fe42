"""The API application: `create_app(settings)` builds the FastAPI app the CLI serves.

Dependencies are built once in `lifespan` and kept on `app.state.opsgate` (`AppState`): the
store (migrations applied on open), the event bus (metered; on PostgreSQL it also follows
what other replicas write, `Store.follow_events`), the tool server and its
in-process client, the engine (recovered at start: interrupted calls become
`outcome_unknown`), a periodic expiry of overdue approvals, the webhook outbox
(`api.notify.outbox`), the login limiter, and, while no
user exists, a one-time setup token logged once at WARNING (only its hash is kept).
`AppDeps` lets tests inject any of these pieces; injected pieces are not closed by the app.
In front of the routes: the catch-all 500, security headers, `guards.RequestGuard` (odd
targets, body size and time), then CORS when configured; outermost, when traces are on, a span
per request (`api.tracing`, whose tracer the engine gets too). `api.server` says how it is
served.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware

import opsgate
from opsgate.api import auth, build, contexts, errors, guards, oidc, sso, tracing, ui
from opsgate.api.metrics import MeteredBus, Metrics
from opsgate.api.notify import outbox, slack, slack_messages
from opsgate.api.passwords import Passwords
from opsgate.api.ratelimit import LoginLimiter
from opsgate.api.routes import (
    admin,
    alerts,
    approvals,
    conversations,
    events,
    inbox,
    meta,
    tokens,
    user_events,
    webhooks,
)
from opsgate.api.routes import audit as audit_routes
from opsgate.api.routes import auth as auth_routes
from opsgate.api.routes import policy as policy_routes
from opsgate.api.routes import (
    slack as slack_routes,
)
from opsgate.api.routes import sso as sso_routes
from opsgate.api.routes import undo as undo_routes
from opsgate.api.routes import usage as usage_routes
from opsgate.api.security import SecurityHeadersMiddleware
from opsgate.api.sessions import SessionCodec
from opsgate.api.state import AppState, EngineApi
from opsgate.api.sweeper import sweep_forever
from opsgate.engine.bus import EventBus
from opsgate.engine.deps import NO_TRACER
from opsgate.settings import Settings
from opsgate.store.protocol import Store
from opsgate.tools import in_cluster, registry
from opsgate.tools.base import CommandRunner, Tool

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger("opsgate.api")
API_PREFIX = "/api/v1"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"


@dataclass
class AppDeps:
    """Pieces a test (or an embedding program) provides instead of the app building them."""

    store: Store | None = None
    engine: EngineApi | None = None
    bus: EventBus | None = None
    tools: Mapping[str, Tool] | None = None
    runner: CommandRunner | None = None
    """The tool server's command runner; the real subprocess runner by default."""
    passwords: Passwords | None = None
    limiter: LoginLimiter | None = None
    clock: Callable[[], datetime] | None = None
    setup_token: str | None = None
    """Use this setup token (when no user exists) instead of a random one."""
    heartbeat_s: float | None = None
    expire_every_s: float = 5.0
    static_dir: Path | None = None
    tracer_provider: TracerProvider | None = None
    """An OpenTelemetry SDK provider to trace to, instead of the one `OTEL_*` may configure."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _setup_url(settings: Settings, token: str) -> str:
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return f"{base.rstrip('/')}/setup#token={token}"


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _lifespan(
    configured: Settings, deps: AppDeps, traces: tracing.Tracing | None
) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if traces is not None:
                stack.callback(traces.shutdown)
            # In a pod: the ServiceAccount's `in-cluster` context joins the kubeconfig's.
            settings = stack.enter_context(in_cluster.pod_settings(configured))
            metrics: Metrics = app.state.metrics
            store = deps.store
            if store is None:
                store = await build.open_store(settings)
                stack.push_async_callback(store.close)
            bus = deps.bus or MeteredBus(metrics, source=store if store.shared else None)
            stack.callback(bus.close)
            tools = deps.tools if deps.tools is not None else registry.all_tools()
            engine = deps.engine
            if engine is None:
                tracer = NO_TRACER if traces is None else traces.tracer
                engine = await build.engine(
                    settings, store, bus, tools, stack, runner=deps.runner, tracer=tracer
                )
            if bus.source is not None:
                # Replicas share the database: follow what every one of them writes, and
                # the stop requests for runs this replica drives.
                follower = asyncio.create_task(
                    bus.source.follow_events(bus.notice, bus.catch_up, engine.stop_noticed)
                )
                stack.push_async_callback(_cancelled, follower)
            await engine.recover()
            allowed, default_context = contexts.allowed_contexts(settings)
            clock = deps.clock or _utcnow
            oidc_client = None
            if settings.oidc is not None:
                if settings.public_url is None:
                    log.warning(
                        "single sign-on is configured without OPSGATE_PUBLIC_URL: the redirect "
                        "URI is %s; set OPSGATE_PUBLIC_URL to the address people use",
                        sso.public_base(settings) + oidc.CALLBACK_PATH,
                    )
                http = httpx.AsyncClient(follow_redirects=False)
                stack.push_async_callback(http.aclose)
                oidc_client = oidc.OidcClient(
                    settings.oidc,
                    sso.public_base(settings) + oidc.CALLBACK_PATH,
                    http,
                    clock=lambda: clock().timestamp(),
                )
            state = AppState(
                settings=settings,
                store=store,
                engine=engine,
                bus=bus,
                tools=tools,
                metrics=metrics,
                passwords=deps.passwords or Passwords(),
                sessions=SessionCodec(settings.key("session_key")),
                limiter=deps.limiter or LoginLimiter(),
                clock=clock,
                model_name=(settings.model or "").strip() or None,
                heartbeat_s=deps.heartbeat_s or 15.0,
                contexts=allowed,
                default_context=default_context,
                oidc=oidc_client,
                oidc_attempts=oidc.AttemptCodec(
                    settings.key("session_key"), clock=lambda: clock().timestamp()
                ),
            )
            if settings.slack is not None:
                slack_http = httpx.AsyncClient(follow_redirects=False)
                stack.push_async_callback(slack_http.aclose)
                state.slack = slack.SlackApi(
                    slack_http,
                    settings.slack.api_url,
                    settings.slack.bot_token.get_secret_value(),
                )
                poster = slack_messages.SlackPoster(
                    store, state.slack, settings.slack, sso.public_base(settings)
                )
                posting = asyncio.create_task(poster.run_forever(settings.webhook_poll_s))
                stack.push_async_callback(_cancelled, posting)
            if await store.count_users() == 0:
                token = deps.setup_token or secrets.token_urlsafe(24)
                state.setup_token_hash = hashlib.sha256(token.encode()).hexdigest()
                log.warning(
                    "no user exists yet: create the first admin at %s (one-time setup token)",
                    _setup_url(settings, token),
                )
            app.state.opsgate = state
            webhook_http = httpx.AsyncClient(follow_redirects=False)
            stack.push_async_callback(webhook_http.aclose)
            outgoing = outbox.WebhookOutbox(store, webhook_http, outbox.config_of(settings), clock)
            sender = asyncio.create_task(outgoing.run_forever(settings.webhook_poll_s))
            stack.push_async_callback(_cancelled, sender)
            expiry = asyncio.create_task(sweep_forever(engine, deps.expire_every_s))
            try:
                yield
            finally:
                expiry.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await expiry
                bus.close()

    return lifespan


async def _openapi(request: Request, _: auth.Viewer) -> JSONResponse:
    return JSONResponse(request.app.openapi())


def create_app(settings: Settings, *, deps: AppDeps | None = None) -> FastAPI:
    """The opsgate API and Command Center as one ASGI app."""
    deps = deps or AppDeps()
    traces = (
        tracing.from_environment()
        if deps.tracer_provider is None
        else tracing.Tracing(deps.tracer_provider, owned=False)
    )
    app = FastAPI(
        title="opsgate",
        version=opsgate.__version__,
        description="AI operations agent for Kubernetes and CI/CD with an approval gate.",
        lifespan=_lifespan(settings, deps, traces),
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # A stray slash is a 404 like any other unknown path, not a redirect.
        redirect_slashes=False,
    )
    app.state.metrics = Metrics()
    errors.install(app)

    api = APIRouter(prefix=API_PREFIX)
    for module in (
        auth_routes,
        sso_routes,
        admin,
        tokens,
        conversations,
        approvals,
        inbox,
        events,
        user_events,
        audit_routes,
        undo_routes,
        meta,
        policy_routes,
        usage_routes,
        webhooks,
        slack_routes,
        alerts,
    ):
        api.include_router(module.router)
    api.add_api_route("/openapi.json", _openapi, methods=["GET"], include_in_schema=False)
    app.include_router(api)
    app.include_router(meta.root_router)
    app.include_router(ui.router(deps.static_dir or ui.STATIC_DIR))

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "Last-Event-ID"],
        )
    app.add_middleware(
        guards.RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
    )
    hsts = bool(settings.public_url and settings.public_url.startswith("https://"))
    app.add_middleware(SecurityHeadersMiddleware, hsts=hsts, metrics=app.state.metrics)
    app.add_middleware(errors.CatchAllMiddleware)
    if traces is not None:
        traces.install(app)
    return app
