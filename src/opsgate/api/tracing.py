"""OpenTelemetry traces: on when the `otel` extra is installed and `OTEL_*` asks for them.

`from_environment()` is called by `create_app`: with `OTEL_EXPORTER_OTLP_ENDPOINT`
(or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_TRACES_EXPORTER=otlp`) set it builds an SDK
`TracerProvider` exporting over OTLP/HTTP in batches, the SDK reading the other standard
variables itself (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`,
`OTEL_BSP_*`...). Without them, or without the extra, tracing is off and costs nothing. Tests
and embedding programs pass their own provider (`AppDeps.tracer_provider`).

Spans: one per HTTP request (opentelemetry-instrumentation-asgi, which also continues a
caller's `traceparent`), with secrets in the URL masked; the engine's runs, graph steps, tool
calls and approval waits through `OtelTracer`, the engine's `Tracer` (`engine.deps`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsgate import settings as settings_module
from opsgate.engine.deps import Attributes, AttributeValue, Span
from opsgate.tools import redact

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span as OtelSpanType
    from opentelemetry.trace import Tracer as OtelTracerType

log = logging.getLogger(__name__)

INSTRUMENTATION = "opsgate"
URL_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.query")
"""Request attributes that may carry a query string, masked like log lines are."""


class OtelSpan:
    """An OpenTelemetry span as the engine's `Span`."""

    def __init__(self, span: OtelSpanType) -> None:
        self._span = span

    def set(self, key: str, value: AttributeValue) -> None:
        self._span.set_attribute(key, value)

    def fail(self, error_type: str) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("error.type", error_type)
        self._span.set_status(Status(StatusCode.ERROR, error_type))


class OtelTracer:
    """An OpenTelemetry tracer as the engine's `Tracer`: spans nest under the current one."""

    def __init__(self, tracer: OtelTracerType) -> None:
        self._tracer = tracer

    @contextmanager
    def span(self, name: str, attributes: Attributes) -> Iterator[Span]:
        # The engine records failures itself, by type only: an exception's message may quote
        # a value, and LangGraph's interrupt (a pause at the gate) is no failure.
        with self._tracer.start_as_current_span(
            name, attributes=dict(attributes), record_exception=False, set_status_on_exception=False
        ) as span:
            yield OtelSpan(span)

    def record(self, name: str, start: datetime, end: datetime, attributes: Attributes) -> None:
        span = self._tracer.start_span(
            name, attributes=dict(attributes), start_time=_nanoseconds(start)
        )
        span.end(end_time=_nanoseconds(end))


def _nanoseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


def _mask_url(span: OtelSpanType, scope: MutableMapping[str, Any]) -> None:
    """The ASGI instrumentation's request hook: mask secrets in the URL it recorded."""
    recorded = getattr(span, "attributes", None) or {}
    for key in URL_ATTRIBUTES:
        value = recorded.get(key)
        if isinstance(value, str):
            span.set_attribute(key, redact.redact_text(value))


@dataclass(frozen=True)
class Tracing:
    """A tracer provider and what the app makes of it."""

    provider: TracerProvider
    owned: bool
    """Built here from `OTEL_*` (shut down, so flushed, with the app) or handed in."""

    @property
    def tracer(self) -> OtelTracer:
        return OtelTracer(self.provider.get_tracer(INSTRUMENTATION))

    def install(self, app: FastAPI) -> None:
        """A span per HTTP request of `app` (none for each chunk it sends or receives), as
        its outermost middleware."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        app.add_middleware(
            OpenTelemetryMiddleware,
            tracer_provider=self.provider,
            server_request_hook=_mask_url,
            exclude_spans=["receive", "send"],
        )

    def shutdown(self) -> None:
        if self.owned:
            self.provider.shutdown()


def from_environment() -> Tracing | None:
    """Tracing as `OTEL_*` configures it, or None (not asked for, or the extra is missing)."""
    if not settings_module.otel_traces_configured():
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as e:
        log.warning(
            "OTEL_* variables ask for traces but the otel extra is not installed (%s); "
            "install opsgate[otel] to export them. Tracing is off.",
            e.name,
        )
        return None
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "opsgate"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider, owned=True)
