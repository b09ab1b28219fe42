"""The tool client with a span per call, preview, snapshot and verify; wrapped around it by
the factory (`factory.deps_from_settings`) when a tracer is configured.

The tracer interface itself is in `engine.deps` (`Tracer`, `NO_TRACER`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opsgate.domain.acting import ActingAs
from opsgate.domain.calls import CallCheck, ToolSpec
from opsgate.engine.deps import ToolInvoker, ToolResult, Tracer
from opsgate.tools.base import Progress


@dataclass(frozen=True)
class TracedTools:
    """The tool client with a span per call, preview, snapshot and verify: the tool's name,
    the phase, the outcome (`ok`, `failed`, `not_declared`), exit code and duration; never
    arguments or output."""

    inner: ToolInvoker
    tracer: Tracer

    async def _traced(self, phase: str, tool: str, result: Any) -> ToolResult:
        with self.tracer.span(
            "opsgate.tool", {"opsgate.tool.name": tool, "opsgate.tool.phase": phase}
        ) as span:
            try:
                outcome: ToolResult = await result
            except Exception as e:
                span.fail(type(e).__name__)
                raise
            if outcome.error == "not_declared":
                # The tool has no such recipe (a snapshot of a tool declaring no undo): not a
                # failure of anything.
                span.set("opsgate.tool.outcome", "not_declared")
                return outcome
            span.set("opsgate.tool.outcome", "ok" if outcome.ok else "failed")
            span.set("opsgate.tool.duration_ms", outcome.duration_ms)
            if outcome.exit_code is not None:
                span.set("opsgate.tool.exit_code", outcome.exit_code)
            if not outcome.ok:
                span.fail("ToolFailed")
            return outcome

    async def call(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        approval_token: str | None = None,
        on_progress: Progress | None = None,
        acting_as: ActingAs | None = None,
    ) -> ToolResult:
        return await self._traced(
            "call",
            tool,
            self.inner.call(
                tool,
                args,
                approval_token=approval_token,
                on_progress=on_progress,
                acting_as=acting_as,
            ),
        )

    async def preview(
        self, tool: str, args: dict[str, Any], *, acting_as: ActingAs | None = None
    ) -> ToolResult:
        return await self._traced(
            "preview", tool, self.inner.preview(tool, args, acting_as=acting_as)
        )

    async def verify(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        on_progress: Progress | None = None,
        acting_as: ActingAs | None = None,
    ) -> ToolResult:
        return await self._traced(
            "verify",
            tool,
            self.inner.verify(tool, args, on_progress=on_progress, acting_as=acting_as),
        )

    async def snapshot(
        self, tool: str, args: dict[str, Any], *, acting_as: ActingAs | None = None
    ) -> ToolResult:
        return await self._traced(
            "snapshot", tool, self.inner.snapshot(tool, args, acting_as=acting_as)
        )

    async def cluster(self, context: str | None) -> ToolResult:
        return await self.inner.cluster(context)

    async def classify(self, calls: Sequence[tuple[str, dict[str, Any]]]) -> list[CallCheck]:
        return await self.inner.classify(calls)

    async def list_tools(self) -> Sequence[ToolSpec]:
        return await self.inner.list_tools()
