"""Three `opsgate serve` replicas on one real PostgreSQL, behind no balancer: the test picks
the replica of each request. A conversation started on A is streamed from C and decided on B;
the replica driving a paused run is SIGKILLed and the decision lands elsewhere; 200 approvals
race on two replicas for one call. Every change runs exactly once (one `tool.started` in the
audit log, the sandbox shows it) and the audit chain verifies afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from opsgate.domain.roles import Role
from opsgate.settings import Settings
from tests.fixtures.cli import OPSGATE, cli_env
from tests.fixtures.postgres import AUDIT_KEY, TEMPLATE_DB, PostgresServer
from tests.fixtures.sandbox import SandboxInfo, deployment_manifest, get_json, kubectl
from tests.replicas.servers import (
    Replica,
    add_users,
    eventually,
    shared_keys,
    start_replica,
    wait_healthy,
)

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox, pytest.mark.slow]

T = TypeVar("T")
LIVE_LAG_S = 5.0
USERS: dict[str, Role] = {"olga": "operator", "bea": "approver"}


@dataclass
class Deployment:
    replicas: dict[str, Replica]
    tokens: dict[str, str]
    namespace: str
    database_url: str
    env: dict[str, str]

    def api(self, replica: str, user: str) -> httpx.Client:
        return self.replicas[replica].api(self.tokens[user])


def _script(namespace: str) -> dict[str, Any]:
    def scale(name: str, replicas: int) -> dict[str, Any]:
        return {
            "match": f"scale {name} ",
            "turns": [
                {
                    "text": f"Scaling {name}.",
                    "tool_calls": [
                        {
                            "name": "k8s_scale",
                            "args": {
                                "resource": f"deployment/{name}",
                                "replicas": replicas,
                                "namespace": namespace,
                            },
                        }
                    ],
                },
                {"text": f"{name} scaled."},
            ],
        }

    def wait(seconds: int) -> dict[str, Any]:
        return {
            "text": "Waiting.",
            "tool_calls": [{"name": "k8s_wait_seconds", "args": {"seconds": seconds}}],
        }

    slow = {"match": "wait twice", "turns": [wait(4), wait(30), {"text": "Done waiting."}]}
    return {"scripts": [scale("alpha", 3), scale("bravo", 2), scale("charlie", 4), slow]}


@pytest.fixture(scope="module")
def deployment(
    postgres_server: PostgresServer,
    sandbox: SandboxInfo,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Deployment]:
    workdir = tmp_path_factory.mktemp("replicas")
    database = f"replicas{os.getpid()}"
    with postgres_server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE_DB}"')
    url = postgres_server.url(database)
    namespace = f"replicas-{os.urandom(2).hex()}"
    assert kubectl(sandbox, "create", "namespace", namespace).returncode == 0
    for name in ("alpha", "bravo", "charlie"):
        manifest = deployment_manifest(name, namespace, "nginx:1.27", 1)
        applied = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
        assert applied.returncode == 0, applied.stderr
    script = workdir / "model.yaml"
    script.write_text(yaml.safe_dump(_script(namespace)))
    env = {
        "OPSGATE_DATABASE_URL": url,
        "OPSGATE_MODEL": f"scripted:{script}",
        "OPSGATE_KUBECONFIG": str(sandbox.kubeconfig),
        "OPSGATE_DEFAULT_CONTEXT": sandbox.context,
        "OPSGATE_REQUIRE_DISTINCT_APPROVER": "false",
        **shared_keys(),
        # The template database's audit head is signed with the fixtures' key.
        "OPSGATE_AUDIT_KEY": AUDIT_KEY.decode(),
    }
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=workdir / "admin",
        database_url=url,
        secret_key=env["OPSGATE_SECRET_KEY"],
        audit_key=env["OPSGATE_AUDIT_KEY"],
    )
    tokens = asyncio.run(add_users(settings, USERS))
    replicas: dict[str, Replica] = {}
    try:
        for name in ("a", "b", "c"):
            replicas[name] = start_replica(name, workdir, env, wait=False)
        for replica in replicas.values():
            wait_healthy(replica)
        yield Deployment(replicas, tokens, namespace, url, env)
    finally:
        for replica in replicas.values():
            replica.stop()
        kubectl(sandbox, "delete", "namespace", namespace, "--wait=false")
        with postgres_server.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _start(deployment: Deployment, replica: str, text: str) -> tuple[str, str]:
    with deployment.api(replica, "olga") as api:
        conversation = api.post("/conversations", json={"namespace": deployment.namespace})
        assert conversation.status_code == 201, conversation.text
        cid = conversation.json()["id"]
        started = api.post(f"/conversations/{cid}/messages", json={"text": text})
        assert started.status_code == 202, started.text
        return cid, started.json()["run_id"]


def _pending(deployment: Deployment, replica: str, cid: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        with deployment.api(replica, "bea") as api:
            items = api.get(
                "/approvals", params={"status": "pending", "conversation_id": cid}
            ).json()["items"]
        return items[0] if items else None

    return eventually(probe, 60, "the approval request")


def _paused(deployment: Deployment, replica: str, run_id: str) -> None:
    """Until the run waits at the gate driven by nobody (its checkpoint is on disk): a run
    cut off before that point fails instead, per the recovery rules."""

    def probe() -> bool | None:
        with deployment.api(replica, "olga") as api:
            run = api.get(f"/runs/{run_id}").json()["run"]
        return True if run["status"] == "awaiting_approval" and run["owner_id"] is None else None

    eventually(probe, 30, f"run {run_id} to pause")


def _finished(deployment: Deployment, replica: str, run_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        with deployment.api(replica, "olga") as api:
            detail: dict[str, Any] = api.get(f"/runs/{run_id}").json()
        return detail if detail["run"]["status"] not in ("running", "awaiting_approval") else None

    return eventually(probe, 60, f"run {run_id} to end")


def _started_count(deployment: Deployment, replica: str, run_id: str) -> int:
    with deployment.api(replica, "olga") as api:
        page = api.get("/audit", params={"run_id": run_id, "kind": "tool.started"}).json()
    return len(page["items"])


def _replicas(sandbox: SandboxInfo, namespace: str, name: str) -> int:
    return int(get_json(sandbox, f"deployment/{name}", "-n", namespace)["spec"]["replicas"])


def _stored_at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["stored_at"]).timestamp()


class _Stream(threading.Thread):
    """Reads a conversation's SSE stream from one replica until its run finishes."""

    def __init__(self, deployment: Deployment, replica: str, cid: str, run_id: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{deployment.replicas[replica].url}/api/v1/conversations/{cid}/events"
        self.token = deployment.tokens["olga"]
        self.run_id = run_id
        self.events: list[dict[str, Any]] = []
        self.lags: list[float] = []
        """Per event, seconds from its commit (on any replica) to its arrival here."""
        self.opened = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.stream("GET", self.url, headers=headers, timeout=90) as response:
            self.opened.set()
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line.removeprefix("data: "))
                self.lags.append(time.time() - _stored_at(event))
                self.events.append(event)
                if event["type"] == "run.finished" and event["run_id"] == self.run_id:
                    return


def test_started_on_a_streamed_from_c_decided_on_b_runs_once_and_is_verified(
    deployment: Deployment, sandbox: SandboxInfo
) -> None:
    with deployment.api("a", "olga") as api:
        cid = api.post("/conversations", json={"namespace": deployment.namespace}).json()["id"]
    stream = _Stream(deployment, "c", cid, run_id="")
    # The run id is not known before the run starts: follow the conversation's only run.
    stream.start()
    assert stream.opened.wait(10)
    with deployment.api("a", "olga") as api:
        run_id = api.post(
            f"/conversations/{cid}/messages", json={"text": "scale alpha to 3"}
        ).json()["run_id"]
    stream.run_id = run_id
    approval = _pending(deployment, "b", cid)
    with deployment.api("b", "bea") as api:
        decided = api.post(
            f"/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": True},
        )
    assert decided.status_code == 200, decided.text
    stream.join(60)
    assert not stream.is_alive(), "the stream on C never saw the run finish"
    # Pushed, not found by the stream's own look at the store when idle (every 15 s).
    assert max(stream.lags) < LIVE_LAG_S, stream.lags
    detail = _finished(deployment, "c", run_id)
    assert detail["run"]["status"] == "completed"
    [call] = [c for c in detail["calls"] if c["tool"] == "k8s_scale"]
    assert call["status"] == "verified"
    assert _replicas(sandbox, deployment.namespace, "alpha") == 3
    assert _started_count(deployment, "a", run_id) == 1
    # C's stream: every event the database holds, once, in id order, A's and B's alike.
    with deployment.api("a", "olga") as api:
        stored = _all_events(api, cid)
    assert [e["id"] for e in stream.events] == [e["id"] for e in stored]
    kinds = [e["type"] for e in stream.events]
    for kind in ("run.started", "approval.requested", "approval.decided", "tool.started"):
        assert kind in kinds
    assert kinds.index("approval.requested") < kinds.index("approval.decided")
    assert kinds.index("approval.decided") < kinds.index("verify") < kinds.index("run.finished")


def _all_events(api: httpx.Client, cid: str) -> list[dict[str, Any]]:
    """The conversation's stored events, read as a reconnecting client does (`?after=`)."""
    events: list[dict[str, Any]] = []
    with api.stream("GET", f"/conversations/{cid}/events", timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
            elif line.startswith(": keep-alive"):
                break
    return events


def test_a_stop_asked_on_another_replica_stops_the_run_where_it_is_driven(
    deployment: Deployment,
) -> None:
    _, run_id = _start(deployment, "a", "wait twice")

    def waiting() -> bool | None:
        with deployment.api("c", "olga") as api:
            calls = api.get(f"/runs/{run_id}").json()["calls"]
        return True if any(c["status"] == "running" for c in calls) else None

    eventually(waiting, 30, "the first wait to run on A")
    with deployment.api("c", "olga") as api:
        answer = api.post(f"/runs/{run_id}/stop")
    assert answer.status_code == 200, answer.text
    assert answer.json()["run"]["status"] == "running"  # A stops it at its next step
    detail = _finished(deployment, "b", run_id)
    assert detail["run"]["status"] == "stopped", detail["run"]
    assert "olga" in (detail["run"]["reason"] or "")
    assert [c["tool"] for c in detail["calls"]] == ["k8s_wait_seconds"]


def test_sigkill_of_the_replica_that_drove_a_paused_run_then_a_decision_elsewhere_runs_it_once(
    deployment: Deployment, sandbox: SandboxInfo
) -> None:
    cid, run_id = _start(deployment, "a", "scale bravo to 2")
    approval = _pending(deployment, "b", cid)
    _paused(deployment, "b", run_id)
    deployment.replicas["a"].kill()
    with deployment.api("c", "bea") as api:
        decided = api.post(
            f"/approvals/{approval['id']}/decision",
            json={"call_id": approval["items"][0]["call_id"], "approve": True},
        )
    assert decided.status_code == 200, decided.text
    detail = _finished(deployment, "b", run_id)
    assert detail["run"]["status"] == "completed", detail
    [call] = [c for c in detail["calls"] if c["tool"] == "k8s_scale"]
    assert call["status"] == "verified"
    assert _replicas(sandbox, deployment.namespace, "bravo") == 2
    assert _started_count(deployment, "b", run_id) == 1


def test_200_approvals_racing_on_two_replicas_run_the_call_once_and_the_chain_verifies(
    deployment: Deployment, sandbox: SandboxInfo
) -> None:
    cid, run_id = _start(deployment, "b", "scale charlie to 4")
    approval = _pending(deployment, "c", cid)
    body = {"call_id": approval["items"][0]["call_id"], "approve": True}
    path = f"/api/v1/approvals/{approval['id']}/decision"

    async def race() -> list[int]:
        limits = httpx.Limits(max_connections=50)
        headers = {"Authorization": f"Bearer {deployment.tokens['bea']}"}
        clients = [
            httpx.AsyncClient(
                base_url=deployment.replicas[name].url, headers=headers, limits=limits, timeout=60
            )
            for name in ("b", "c")
        ]
        try:
            responses = await asyncio.gather(
                *(clients[i % 2].post(path, json=body) for i in range(200))
            )
        finally:
            for client in clients:
                await client.aclose()
        return [r.status_code for r in responses]

    codes = asyncio.run(race())
    assert sorted(set(codes)) == [200, 409], codes
    assert codes.count(200) == 1
    detail = _finished(deployment, "c", run_id)
    assert detail["run"]["status"] == "completed", detail
    assert _replicas(sandbox, deployment.namespace, "charlie") == 4
    assert _started_count(deployment, "c", run_id) == 1
    verified = subprocess.run(
        [str(OPSGATE), "audit", "verify"],
        env=cli_env(Path(deployment.replicas["c"].log).parent / "verify", **deployment.env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
