"""`opsgate serve` with `OPSGATE_LOG_FORMAT=json`: every line a JSON object, one per engine
event with its ids, secrets masked; and the formatter itself on records that carry secrets."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsgate.api import logs
from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.settings import Settings
from tests.fixtures.cli import CliServer, serve_cli
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, kubectl

SECRET = "og_Zq8RtW3vYp1LmN6xKc4HsJ7dFa2BgE5u"
EVENTS = ("run.started", "plan", "tool.started", "tool.finished", "approval.requested")
EVENTS += ("approval.decided", "run.resumed", "verify", "run.finished")


def scripts(namespace: str) -> list[dict[str, Any]]:
    target = {"resource": "deployment/web", "namespace": namespace}
    return [
        {
            "match": "(?i)scale web",
            "turns": [
                {
                    "text": "Looking first.",
                    "tool_calls": [
                        {
                            "name": "k8s_get",
                            "args": {
                                "resource": "deployments",
                                "name": "web",
                                "namespace": namespace,
                            },
                        }
                    ],
                },
                {
                    "text": "Scaling.",
                    "tool_calls": [{"name": "k8s_scale", "args": {**target, "replicas": 3}}],
                },
                {"text": "Done."},
            ],
        }
    ]


def run_to_the_end(server: CliServer, namespace: str) -> tuple[str, str, str]:
    """Ask for the scale, approve it, wait for the run to end; (conversation, run, approval)."""
    with server.api() as api:
        conversation = api.post("/conversations", json={"namespace": namespace}).json()["id"]
        started = api.post(f"/conversations/{conversation}/messages", json={"text": "scale web"})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        deadline = time.monotonic() + 60
        while not (pending := server.pending()):
            assert time.monotonic() < deadline, "no approval request"
            time.sleep(0.2)
        approval = pending[0]
        decided = api.post(
            f"/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": True},
        )
        assert decided.status_code == 200, decided.text
        while api.get(f"/runs/{run_id}").json()["run"]["status"] not in FINAL_RUN_STATUSES:
            assert time.monotonic() < deadline, "the run did not end"
            time.sleep(0.2)
    return conversation, run_id, approval["id"]


@pytest.mark.sandbox
def test_json_logs_are_one_object_per_line_with_ids_and_no_secret(
    sandbox: SandboxInfo, namespace: str, tmp_path: Path
) -> None:
    created = kubectl(
        sandbox, "apply", "-f", "-", stdin=deployment_manifest("web", namespace, "nginx:1.27")
    )
    assert created.returncode == 0, created.stderr
    with serve_cli(
        sandbox.kubeconfig, sandbox.context, tmp_path, scripts(namespace), {"root": "admin"},
        OPSGATE_LOG_FORMAT="json", OPSGATE_LOG_LEVEL="INFO",
    ) as server:  # fmt: skip
        conversation, run_id, approval_id = run_to_the_end(server, namespace)
        # A token in a query string reaches the access log.
        assert httpx.get(f"{server.url}/healthz", params={"token": SECRET}).status_code == 200
        time.sleep(0.5)
    text = (tmp_path / "serve.log").read_text()
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    events = {line["event"]: line for line in lines if line["logger"] == "opsgate.events"}
    assert set(EVENTS) <= events.keys()
    assert all(
        e["run_id"] == run_id and e["conversation_id"] == conversation for e in events.values()
    )
    assert events["approval.requested"]["approval_id"] == approval_id
    assert events["approval.decided"]["call_id"] == events["tool.finished"]["call_id"]
    assert events["tool.finished"]["tool"] == "k8s_scale"
    assert events["tool.finished"]["status"] == "succeeded"
    assert "token" not in events, "model text pieces are not logged"
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any("/healthz?token=" in line["message"] for line in access)


def test_the_json_formatter_masks_secrets_in_messages_and_tracebacks() -> None:
    formatter = logs.JsonFormatter()
    try:
        raise RuntimeError("connect to postgresql+psycopg://opsgate:hunter2hunter2@db/opsgate")
    except RuntimeError:
        record = logging.LogRecord(
            "opsgate.api", logging.ERROR, __file__, 1, "login with password=%s failed",
            ("s3cr3t-value",), sys.exc_info(),
        )  # fmt: skip
    record.run_id = "run-1"
    line = json.loads(formatter.format(record))
    assert line["run_id"] == "run-1"
    assert line["level"] == "ERROR"
    assert "s3cr3t-value" not in line["message"]
    assert "hunter2hunter2" not in line["exception"]
    assert "RuntimeError" in line["exception"]


def test_text_stays_the_default_and_appends_the_ids() -> None:
    config = logs.dict_config(Settings())
    assert config["formatters"]["opsgate"]["()"] is logs.TextFormatter
    record = logging.LogRecord("opsgate.events", logging.INFO, __file__, 1, "%s", ("plan",), None)
    record.run_id, record.call_id = "run-1", "call-2"
    assert (
        logs.TextFormatter().format(record).endswith("opsgate.events: plan [run=run-1 call=call-2]")
    )


def test_event_lines_stay_off_a_terminal_unless_debugging() -> None:
    quiet = logs.dict_config(Settings())["loggers"]
    assert quiet[logs.EVENTS_LOGGER] == {"level": "WARNING"}
    assert logs.EVENTS_LOGGER not in logs.dict_config(Settings(log_level="DEBUG"))["loggers"]
    assert logs.EVENTS_LOGGER not in logs.dict_config(Settings(log_format="json"))["loggers"]
    assert quiet["alembic"] == {"level": "WARNING"}
