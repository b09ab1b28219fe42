"""OpenTelemetry traces of a real run (scripted model, kubectl against the sandbox), collected
with the SDK's in-memory exporter: one span per request, run, graph step, tool call and
approval wait, nested as they happen, with names and outcomes and no secret anywhere."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from opsgate import settings as settings_module
from opsgate.api import tracing
from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.api import running_app, wait_for
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, kubectl

CANARY = "Xq7-canary-hunter2-Zp9LmN3vB"


@pytest.fixture
def exporter() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def script(namespace: str) -> str:
    return f"""
scripts:
  - match: "scale"
    turns:
      - tool_calls: [{{name: k8s_get, args: {{resource: secret/creds, namespace: {namespace}}}}}]
      - text: "Scaling web to 3."
        tool_calls:
          - name: k8s_scale
            args: {{resource: deployment/web, replicas: 3, namespace: {namespace}}}
      - text: "web now runs 3 replicas."
"""


def everything_said(span: ReadableSpan) -> str:
    """A span's name, attributes, status and events as one string, to look for secrets in."""
    parts = [span.name, repr(dict(span.attributes or {})), repr(span.status.description)]
    parts += [repr((e.name, dict(e.attributes or {}))) for e in span.events]
    return " ".join(parts)


@pytest.mark.sandbox
async def test_a_run_is_traced_request_run_step_tool_and_approval_wait(
    sandbox: SandboxInfo,
    namespace: str,
    tmp_path: Path,
    exporter: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, spans = exporter
    manifest = deployment_manifest("web", namespace, "nginx:1.27", 2)
    assert kubectl(sandbox, "apply", "-f", "-", stdin=manifest).returncode == 0
    made = kubectl(
        sandbox, "create", "secret", "generic", "creds", "-n", namespace,
        f"--from-literal=password={CANARY}",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    runner = SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)}))
    async with (
        running_app(
            tmp_path / "data",
            script_text=script(namespace),
            runner=runner,
            tracer_provider=provider,
            kubeconfig=sandbox.kubeconfig,
            contexts=[sandbox.context],
            default_context=sandbox.context,
            kubectl_path=sandbox.kubectl,
            helm_path=sandbox.helm,
            command_timeout_s=30.0,
        ) as env,
        env.client("operator") as operator,
        env.client("approver") as approver,
    ):
        cid = (await operator.post("/api/v1/conversations", json={})).json()["id"]
        run_id = (
            await operator.post(f"/api/v1/conversations/{cid}/messages", json={"text": "scale"})
        ).json()["run_id"]

        async def pending() -> list[dict[str, Any]]:
            response = await approver.get("/api/v1/approvals", params={"status": "pending"})
            items: list[dict[str, Any]] = response.json()["items"]
            return items

        approval = (await wait_for(pending, 60))[0]
        decided = await approver.post(
            f"/api/v1/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": True},
        )
        assert decided.status_code == 200

        async def finished() -> str | None:
            status: str = (await operator.get(f"/api/v1/runs/{run_id}")).json()["run"]["status"]
            return status if status in FINAL_RUN_STATUSES else None

        assert await wait_for(finished, 90) == "completed"
        assert (await operator.get("/healthz", params={"token": CANARY})).status_code == 200

    finished_spans = spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished_spans}

    def parent(span: ReadableSpan) -> ReadableSpan | None:
        return by_id.get(span.parent.span_id) if span.parent else None

    # One stretch up to the gate and one after the decision; or one alone, when the decision
    # landed before the first stretch reached the gate (it then resumes the run itself).
    runs = [s for s in finished_spans if s.name == "opsgate.run"]
    assert 1 <= len(runs) <= 2
    assert all(s.attributes["opsgate.run_id"] == run_id for s in runs)

    steps = [s for s in finished_spans if s.name == "opsgate.step"]
    assert all(parent(s) in runs for s in steps)
    walked = [(s.attributes["opsgate.step"], s.attributes["opsgate.step.outcome"]) for s in steps]
    assert ("gate", "paused") in walked
    assert ("gate", "ok") in walked
    assert [name for name, _ in walked] == [
        "plan", "classify", "execute_reads", "plan", "classify", "execute_reads",
        "request_approval", "gate",
        "gate", "execute", "verify", "plan", "answer",
    ]  # fmt: skip
    paused = next(s for s in steps if s.attributes["opsgate.step.outcome"] == "paused")
    assert paused.status.status_code is not StatusCode.ERROR

    tools = [s for s in finished_spans if s.name == "opsgate.tool"]
    done = [(s.attributes["opsgate.tool.name"], s.attributes["opsgate.tool.phase"]) for s in tools]
    assert done == [
        ("k8s_get", "call"), ("k8s_scale", "preview"), ("k8s_scale", "snapshot"),
        ("k8s_scale", "call"), ("k8s_scale", "verify"),
    ]  # fmt: skip
    assert all(s.attributes["opsgate.tool.outcome"] == "ok" for s in tools)
    assert [parent(s).attributes["opsgate.step"] for s in tools] == [  # type: ignore[union-attr]
        "execute_reads", "request_approval", "execute", "execute", "verify",
    ]  # fmt: skip

    (wait,) = [s for s in finished_spans if s.name == "opsgate.approval.wait"]
    assert wait.attributes["opsgate.approval_id"] == approval["id"]
    assert wait.attributes["opsgate.approval.status"] == "approved"
    assert wait.end_time is not None
    assert wait.start_time is not None
    assert wait.end_time > wait.start_time

    requests = [s for s in finished_spans if s.kind is SpanKind.SERVER]
    assert len(requests) >= 6
    assert {s.attributes.get("http.status_code") for s in requests} >= {200, 201, 202}

    for span in finished_spans:
        said = everything_said(span)
        assert CANARY not in said, span.name
        assert "nginx" not in said, f"{span.name} carries a call's arguments or output"


def test_traces_are_off_unless_otel_variables_ask_for_them() -> None:
    configured = settings_module.otel_traces_configured
    assert not configured({})
    assert configured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert configured({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not configured(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert not configured(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}
    )


class _Collector(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver on loopback that keeps the paths and bodies it was sent."""

    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_otel_variables_configure_an_otlp_export(monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = http.server.HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "opsgate-under-test")
        traces = tracing.from_environment()
        assert traces is not None
        assert traces.owned
        with traces.tracer.span("opsgate.run", {"opsgate.run_id": "run-1"}) as span:
            span.set("opsgate.step", "plan")
        traces.shutdown()
    finally:
        receiver.shutdown()
        thread.join()
        receiver.server_close()
    ((path, body),) = _Collector.received
    assert path == "/v1/traces"
    assert b"opsgate.run" in body
    assert b"opsgate-under-test" in body


def test_without_otel_variables_there_is_no_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert tracing.from_environment() is None
