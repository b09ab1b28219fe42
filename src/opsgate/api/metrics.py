"""Prometheus metrics of one app, on its own `CollectorRegistry` (never the global one).

`Metrics.observe_event` is fed every stream event by `MeteredBus` (so runs, tool calls,
approvals and model turns are counted where this replica's engine publishes them, never twice
for events another replica wrote); the HTTP middleware and the SSE route update request
latency and stream clients. `/metrics` renders `Metrics.render()`.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from opsgate.engine.bus import EventBus
from opsgate.store.protocol import Store
from opsgate.store.records import StreamEvent

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The counters, gauges and histograms the API exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs_started = Counter("opsgate_runs_started_total", "Runs started.", registry=r)
        self.runs_finished = Counter(
            "opsgate_runs_finished_total", "Runs finished, by final status.", ["status"], registry=r
        )
        self.tool_calls = Counter(
            "opsgate_tool_calls_total",
            "Tool calls finished, by tool and outcome.",
            ["tool", "outcome"],
            registry=r,
        )
        self.tool_latency = Histogram(
            "opsgate_tool_call_duration_seconds",
            "Tool call duration.",
            ["tool"],
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self.approvals = Counter(
            "opsgate_approvals_total",
            "Approval decisions and expiries, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.http_latency = Histogram(
            "opsgate_http_request_duration_seconds",
            "HTTP request latency by method and route.",
            ["method", "route"],
            registry=r,
        )
        self.stream_clients = Gauge("opsgate_stream_clients", "Connected SSE clients.", registry=r)
        self.stream_events = Counter(
            "opsgate_stream_events_sent_total", "Events written to SSE clients.", registry=r
        )
        self.model_turns = Counter(
            "opsgate_model_turns_total", "Model turns, by model.", ["model"], registry=r
        )
        self.model_tokens = Counter(
            "opsgate_model_tokens_total",
            "Model tokens, by direction (input or output) and model.",
            ["direction", "model"],
            registry=r,
        )
        self.model_cost = Counter(
            "opsgate_model_cost_usd_total",
            "Model cost in US dollars of the turns whose price is known, by model.",
            ["model"],
            registry=r,
        )

    def observe_event(self, event: StreamEvent) -> None:
        data = event.data
        if event.type == "run.started":
            self.runs_started.inc()
        elif event.type == "run.finished":
            self.runs_finished.labels(str(data.get("status", "unknown"))).inc()
        elif event.type == "tool.finished":
            tool = str(data.get("tool", "unknown"))
            self.tool_calls.labels(tool, str(data.get("status", "unknown"))).inc()
            duration_ms = data.get("duration_ms")
            if isinstance(duration_ms, int | float):
                self.tool_latency.labels(tool).observe(duration_ms / 1000)
        elif event.type == "approval.decided":
            self.approvals.labels(
                "granted" if data.get("decision") == "approve" else "rejected"
            ).inc()
        elif event.type == "approval.expired":
            self.approvals.labels("expired").inc(max(1, len(data.get("call_ids") or [])))
        elif event.type == "model.turn":
            self.observe_turn(data)

    def observe_turn(self, data: dict[str, Any]) -> None:
        """Count one `model.turn` event; an unknown cost adds nothing to the cost counter."""
        model = str(data.get("model", "unknown"))
        self.model_turns.labels(model).inc()
        for direction in ("input", "output"):
            tokens = data.get(f"{direction}_tokens")
            if isinstance(tokens, int) and tokens >= 0:
                self.model_tokens.labels(direction, model).inc(tokens)
        cost = data.get("cost_usd")
        if isinstance(cost, int | float) and cost >= 0:
            self.model_cost.labels(model).inc(cost)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MeteredBus(EventBus):
    """The engine's event bus, counting each published event into `Metrics` on the way."""

    def __init__(
        self, metrics: Metrics, queue_size: int | None = None, source: Store | None = None
    ) -> None:
        if queue_size is None:
            super().__init__(source=source)
        else:
            super().__init__(queue_size=queue_size, source=source)
        self.metrics = metrics

    def publish(self, conversation_id: str, event: StreamEvent) -> None:
        self.metrics.observe_event(event)
        super().publish(conversation_id, event)
