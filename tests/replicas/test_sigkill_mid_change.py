"""A replica SIGKILLed while it runs a change: once its lease runs out another replica takes
the run over, the change becomes `outcome_unknown` (audited) and is never run again, and the
run fails saying to check the cluster."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsgate.settings import Settings
from tests.fixtures.postgres import AUDIT_KEY, TEMPLATE_DB, PostgresServer
from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.replicas.servers import Replica, add_users, eventually, shared_keys, start_replica

pytestmark = [pytest.mark.postgres, pytest.mark.sandbox, pytest.mark.slow]

LEASE_S = 10


@pytest.fixture
def held_configmap(sandbox: SandboxInfo, namespace: str) -> Iterator[str]:
    """A ConfigMap whose finalizer nobody removes: `kubectl delete` waits on it (a long change)."""
    manifest = f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: held, namespace: {namespace}, finalizers: [example.com/hold]}}
data: {{a: b}}
"""
    assert kubectl(sandbox, "apply", "-f", "-", stdin=manifest).returncode == 0
    yield "held"
    kubectl(
        sandbox,
        "patch",
        "configmap/held",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )


def test_a_change_cut_off_by_sigkill_becomes_outcome_unknown_and_is_never_rerun(
    postgres_server: PostgresServer,
    sandbox: SandboxInfo,
    namespace: str,
    held_configmap: str,
    tmp_path: Path,
) -> None:
    database = f"midchange{os.getpid()}"
    with postgres_server.admin() as conn:
        conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE_DB}"')
    url = postgres_server.url(database)
    env = {
        "OPSGATE_DATABASE_URL": url,
        "OPSGATE_KUBECONFIG": str(sandbox.kubeconfig),
        "OPSGATE_DEFAULT_CONTEXT": sandbox.context,
        "OPSGATE_REQUIRE_DISTINCT_APPROVER": "false",
        "OPSGATE_LEASE_S": str(LEASE_S),
        **shared_keys(),
        "OPSGATE_AUDIT_KEY": AUDIT_KEY.decode(),
    }
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path / "admin",
        database_url=url,
        secret_key=env["OPSGATE_SECRET_KEY"],
        audit_key=env["OPSGATE_AUDIT_KEY"],
    )
    tokens = asyncio.run(add_users(settings, {"olga": "operator", "bea": "approver"}))
    replicas: list[Replica] = []
    try:
        replicas = [start_replica(name, tmp_path, env) for name in ("a", "b")]
        a, b = replicas
        with a.api(tokens["olga"]) as olga_a, a.api(tokens["bea"]) as bea_a:
            cid = olga_a.post("/conversations", json={"namespace": namespace}).json()["id"]
            started = olga_a.post(
                f"/conversations/{cid}/calls",
                json={
                    "tool": "k8s_delete",
                    "args": {"resource": "configmap", "name": held_configmap},
                },
            )
            assert started.status_code == 202, started.text
            run_id = started.json()["run_id"]

            def pending() -> dict[str, Any] | None:
                items = bea_a.get("/approvals", params={"status": "pending"}).json()["items"]
                return next((i for i in items if i["run_id"] == run_id), None)

            approval = eventually(pending, 60, "the approval request")
            # Decided on A: A resumes the run and runs the change (kubectl delete, waiting).
            decided = bea_a.post(
                f"/approvals/{approval['id']}/decision",
                json={
                    "call_id": approval["items"][0]["call_id"],
                    "approve": True,
                    "reason": "cut off on purpose",
                },
            )
            assert decided.status_code == 200, decided.text

            def running() -> bool | None:
                # Started: `tool.started` is on disk, which A writes (after the snapshot of the
                # target) before it hands the change to the tool server.
                calls = olga_a.get(f"/runs/{run_id}").json()["calls"]
                audit = olga_a.get("/audit", params={"run_id": run_id}).json()["items"]
                started = any(e["kind"] == "tool.started" for e in audit)
                return True if calls and calls[0]["status"] == "running" and started else None

            eventually(running, 30, "the change to run on A")
        a.kill()
        with b.api(tokens["olga"]) as olga_b:

            def settled() -> dict[str, Any] | None:
                detail: dict[str, Any] = olga_b.get(f"/runs/{run_id}").json()
                return detail if detail["run"]["status"] == "failed" else None

            detail = eventually(settled, LEASE_S + 30, "B to take the run over")
            [call] = detail["calls"]
            assert call["status"] == "outcome_unknown"
            assert "check the cluster" in (detail["run"]["reason"] or "")
            audit = olga_b.get("/audit", params={"run_id": run_id}).json()["items"]
            kinds = [e["kind"] for e in audit]
            assert kinds.count("tool.started") == 1
            assert kinds.count("tool.outcome_unknown") == 1
    finally:
        for replica in replicas:
            replica.stop()
        with postgres_server.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
