"""The API on PostgreSQL: store, checkpoints and audit in one real PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.api import running_app, wait_for

pytestmark = [pytest.mark.postgres]


async def test_approval_flow_and_audit_chain_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", database_url=postgres_url) as env:
        async with env.client("operator") as operator:
            ready = (await operator.get("/readyz")).json()
            assert ready["checks"]["database"]["ok"] is True
            conversation = (await operator.post("/api/v1/conversations", json={})).json()
            run_id = (
                await operator.post(
                    f"/api/v1/conversations/{conversation['id']}/calls",
                    json={"tool": "k_scale", "args": {"name": "frontend", "replicas": 7}},
                )
            ).json()["run_id"]
        async with env.client("approver") as approver:

            async def pending() -> list[dict[str, object]]:
                response = await approver.get("/api/v1/approvals", params={"status": "pending"})
                items: list[dict[str, object]] = response.json()["items"]
                return items

            approval = (await wait_for(pending))[0]
            decided = await approver.post(
                f"/api/v1/approvals/{approval['id']}/decide-all", json={"approve": True}
            )
            assert decided.status_code == 200

            async def completed() -> bool:
                run = (await approver.get(f"/api/v1/runs/{run_id}")).json()["run"]
                return run["status"] == "completed"

            await wait_for(completed)
            chain = (await approver.get("/api/v1/audit/verify")).json()
        assert chain["ok"] is True
        assert env.cluster.mutations() == [("scale", "frontend", "7")]
