"""The snapshot recipe in traces: a tool that declares no undo answers `not_declared`, which
its span records as such, not as a failed tool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from opsgate.engine.deps import Attributes, AttributeValue
from opsgate.engine.tracing import TracedTools
from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.store import sql
from opsgate.tools.base import ToolEnv
from tests.fixtures.engine import APPROVAL_KEY, FakeCluster, engine_tools
from tests.fixtures.postgres import AUDIT_KEY, SECRET_KEY


@dataclass
class RecordedSpan:
    attributes: dict[str, AttributeValue]
    failed: str | None = None

    def set(self, key: str, value: AttributeValue) -> None:
        self.attributes[key] = value

    def fail(self, error_type: str) -> None:
        self.failed = error_type


@dataclass
class RecordingTracer:
    spans: list[RecordedSpan] = field(default_factory=list)

    @contextmanager
    def span(self, name: str, attributes: Attributes) -> Iterator[RecordedSpan]:
        opened = RecordedSpan(dict(attributes))
        self.spans.append(opened)
        yield opened

    def record(self, name: str, start: datetime, end: datetime, attributes: Attributes) -> None:
        raise AssertionError("no span is recorded after the fact here")


async def test_a_snapshot_the_tool_does_not_declare_is_traced_as_not_declared(
    tmp_path: Path,
) -> None:
    store = await sql.open_store(
        f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", secret_key=SECRET_KEY, audit_key=AUDIT_KEY
    )
    env = ToolEnv(runner=FakeCluster(), kubectl=Path("/nonexistent"), helm=Path("/nonexistent"))
    server = create_server(env, engine_tools(), APPROVAL_KEY, spent=store)
    tracer = RecordingTracer()
    try:
        async with ToolClient.in_memory(server) as client:
            traced = TracedTools(client, tracer)
            result = await traced.snapshot("k_scale", {"name": "web", "replicas": 3})
    finally:
        await store.close()
    assert result.error == "not_declared"
    [span] = tracer.spans
    assert span.attributes["opsgate.tool.phase"] == "snapshot"
    assert span.attributes["opsgate.tool.outcome"] == "not_declared"
    assert span.failed is None
