"""What the API keeps on `app.state`: every dependency, built once in `lifespan`.

Routes read it with `app_state(request)`; tests inject pieces through `opsgate.api.app.AppDeps`.
`EngineApi` is the part of `opsgate.engine.Engine` the routes call, written as a protocol so
the routes depend on behaviour, not on how the engine is assembled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from fastapi import Request

from opsgate.api.metrics import Metrics
from opsgate.api.oidc import AttemptCodec, OidcClient
from opsgate.api.passwords import Passwords
from opsgate.api.ratelimit import LoginLimiter
from opsgate.api.sessions import SessionCodec
from opsgate.engine.bus import EventBus
from opsgate.engine.policy_source import ActivePolicy
from opsgate.settings import Settings
from opsgate.store.protocol import Store
from opsgate.store.records import ApprovalRequest, Run, User
from opsgate.tools.base import RollbackCall, Tool


class EngineApi(Protocol):
    """The engine operations the HTTP routes need."""

    async def submit_message(
        self, conversation_id: str, user: User, text: str, *, read_only: bool = False
    ) -> Run: ...

    async def submit_call(
        self,
        conversation_id: str,
        user: User,
        tool: str,
        args: dict[str, Any],
        *,
        purpose: str | None = None,
    ) -> Run: ...

    async def submit_undo(self, call_id: str, user: User) -> tuple[Run, RollbackCall]: ...

    async def decide(
        self, approval_id: str, call_id: str, user: User, approve: bool, reason: str | None
    ) -> ApprovalRequest: ...

    async def stop(self, run_id: str, user: User) -> Any: ...

    async def active_policy(self) -> ActivePolicy: ...

    def stop_noticed(self, run_id: str, user_name: str) -> None: ...

    async def recover(self) -> Any: ...

    async def expire_due(self) -> Any: ...

    async def sweep(self) -> Any: ...

    async def aclose(self) -> None: ...


@dataclass
class AppState:
    """Every dependency of the routes, held on `app.state.opsgate`."""

    settings: Settings
    store: Store
    engine: EngineApi
    bus: EventBus
    tools: Mapping[str, Tool]
    metrics: Metrics
    passwords: Passwords
    sessions: SessionCodec
    limiter: LoginLimiter
    clock: Callable[[], datetime]
    model_name: str | None
    setup_token_hash: str | None = None
    """SHA-256 of the one-time setup token while no user exists; never the token itself."""
    heartbeat_s: float = 15.0
    setup_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    alert_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Serialises this replica's alert intake decisions (dedupe, rate limit, open)."""
    contexts: list[str] = field(default_factory=list)
    default_context: str | None = None
    oidc: OidcClient | None = None
    """The single sign-on provider's client when `Settings.oidc` is set."""
    oidc_attempts: AttemptCodec | None = None


def app_state(request: Request) -> AppState:
    return cast(AppState, request.app.state.opsgate)
