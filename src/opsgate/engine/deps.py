"""What the engine is given: its dependencies as one typed object.

Built by the API's lifespan (or the CLI, or tests) and passed to `Engine`. The tool client is
described by a protocol here because the engine and the MCP layer are siblings: the MCP
package's `ToolClient` satisfies it, and so does any small real test double.

So is the tracer: the engine never imports OpenTelemetry (an optional dependency). It is
handed a `Tracer` (`api.tracing.OtelTracer` when traces are configured, `NO_TRACER`
otherwise) and opens spans for each run it drives (`Engine._launch`), each graph step
(`graph._node`), each tool call (`tracing.TracedTools`) and each approval wait (`Steps.gate`,
recorded once decided). Attributes are ids, names and outcomes only, never a call's arguments
or output, which may hold secrets; a failure is recorded by its type alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from opsgate.domain.acting import ActingAs, IdentityMode
from opsgate.domain.calls import CallCheck, ToolSpec
from opsgate.engine.bus import EventBus
from opsgate.engine.models.base import ChatModel
from opsgate.engine.policy_source import ActivePolicy
from opsgate.settings import Settings
from opsgate.store.protocol import Store
from opsgate.tools.base import Progress


class ToolResult(Protocol):
    """The outcome of one call as the tool server reported it."""

    @property
    def ok(self) -> bool: ...
    @property
    def text(self) -> str: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def truncated(self) -> bool: ...
    @property
    def duration_ms(self) -> int: ...
    @property
    def error(self) -> str | None: ...
    @property
    def data(self) -> Any: ...


class ToolInvoker(Protocol):
    """The tool server as the engine uses it (`opsgate.mcp.client.ToolClient`)."""

    async def call(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        approval_token: str | None = None,
        on_progress: Progress | None = None,
        acting_as: ActingAs | None = None,
    ) -> ToolResult: ...
    async def preview(
        self, tool: str, args: dict[str, Any], *, acting_as: ActingAs | None = None
    ) -> ToolResult: ...
    async def verify(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        on_progress: Progress | None = None,
        acting_as: ActingAs | None = None,
    ) -> ToolResult: ...
    async def snapshot(
        self, tool: str, args: dict[str, Any], *, acting_as: ActingAs | None = None
    ) -> ToolResult: ...
    async def cluster(self, context: str | None) -> ToolResult: ...
    async def classify(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[CallCheck]: ...
    async def list_tools(self) -> Sequence[ToolSpec]: ...


AttributeValue = str | int | bool
Attributes = Mapping[str, AttributeValue]


class Span(Protocol):
    """An open span: more attributes as they become known, and how it failed."""

    def set(self, key: str, value: AttributeValue) -> None: ...
    def fail(self, error_type: str) -> None: ...


class Tracer(Protocol):
    """Opens spans as children of the current one (a context manager each), or records one
    that already happened (an approval wait, known only once it ends)."""

    def span(self, name: str, attributes: Attributes) -> AbstractContextManager[Span]: ...
    def record(self, name: str, start: datetime, end: datetime, attributes: Attributes) -> None: ...


class _NoSpan:
    def set(self, key: str, value: AttributeValue) -> None:
        pass

    def fail(self, error_type: str) -> None:
        pass


class NoTracer:
    """Traces nothing: the engine's default when no tracer is configured."""

    @contextmanager
    def span(self, name: str, attributes: Attributes) -> Iterator[Span]:
        yield _NoSpan()

    def record(self, name: str, start: datetime, end: datetime, attributes: Attributes) -> None:
        pass


NO_TRACER = NoTracer()


@dataclass(frozen=True)
class Limits:
    """Per-run guards and gate parameters (from `Settings`; none of them can skip the gate)."""

    max_model_turns: int = 12
    max_tool_calls: int = 40
    approval_ttl_s: int = 15 * 60
    require_distinct_approver: bool = False
    tool_result_cap_chars: int = 12_000
    model_context_tokens: int = 24_000
    verify_timeout_s: float = 120.0
    preview_timeout_s: float = 30.0
    token_ttl_s: float = 300.0
    """Lifetime of a minted approval token: just long enough to carry one call to the server."""
    lease_s: float = 30.0
    """How long an engine's lease lasts without renewal; its runs are then taken over."""
    execution_grace_s: float = 60.0
    """How long after its request's expiry an approval given in time may still start the
    change (the run resumes a moment after the decision); later, it lapses, reported so."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_model_turns=settings.max_model_turns,
            max_tool_calls=settings.max_tool_calls,
            approval_ttl_s=settings.approval_ttl_s,
            require_distinct_approver=settings.require_distinct_approver,
            tool_result_cap_chars=settings.tool_result_cap_chars,
            model_context_tokens=settings.model_context_tokens,
            verify_timeout_s=max(settings.command_timeout_s * 2, 1.0),
            preview_timeout_s=max(settings.command_timeout_s, 1.0),
            lease_s=settings.lease_s,
        )


@dataclass(frozen=True)
class EngineDeps:
    """Everything the engine needs, passed in."""

    model: ChatModel | None
    tools: ToolInvoker
    tool_specs: Mapping[str, ToolSpec]
    """Tool name to what the tool server's MCP listing says of it (`factory.tool_specs`)."""
    store: Store
    bus: EventBus
    approval_key: bytes
    secret_key: bytes
    """Seals the exact arguments of calls in the run's state (`engine.sealing`)."""
    clock: Callable[[], float]
    """Seconds since the epoch (UTC)."""
    limits: Limits = Limits()
    engine_id: str = field(default_factory=lambda: f"engine-{uuid.uuid4().hex[:16]}")
    """Names this engine's lease and the runs it drives; stable across restarts of one
    deployment (the factory keeps it in the data directory) so a restart takes its runs back."""
    tracer: Tracer = NO_TRACER
    """Spans of runs, steps, tool calls and approval waits (none by default)."""
    cluster_identity: Mapping[str, IdentityMode] = field(default_factory=dict)
    """Context -> whose identity its calls use on the cluster (`domain.acting`)."""
    policy_file: ActivePolicy | None = None
    """The settings' approval policy file, loaded (`policy_source.read_policy_file`); a
    version saved by an admin replaces it. None: the built-in gate."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
