"""What the app does on its own: expire overdue approvals, and resume after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from opsgate.errors import ConfigError
from tests.fixtures.api import ApiEnv, running_app, wait_for


async def _propose_scale(env: ApiEnv, replicas: int) -> tuple[str, str]:
    async with env.client("operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        run_id = (
            await operator.post(
                f"/api/v1/conversations/{conversation['id']}/calls",
                json={"tool": "k_scale", "args": {"name": "frontend", "replicas": replicas}},
            )
        ).json()["run_id"]
    return conversation["id"], run_id


async def _approvals(client: httpx.AsyncClient, status: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/approvals", params={"status": status})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_overdue_approval_expires_by_itself_and_cannot_be_approved(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path / "data", approval_ttl_s=1) as env:
        await _propose_scale(env, 5)
        async with env.client("approver") as approver:
            approval = (await wait_for(lambda: _approvals(approver, "pending")))[0]
            expired = (await wait_for(lambda: _approvals(approver, "expired")))[0]
            assert expired["id"] == approval["id"]
            late = await approver.post(
                f"/api/v1/approvals/{approval['id']}/decision",
                json={"call_id": approval["items"][0]["call_id"], "approve": True},
            )
            assert late.status_code == 409
        assert env.cluster.mutations() == []


async def test_pending_approval_survives_a_server_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_app(data_dir) as first:
        _, run_id = await _propose_scale(first, 6)
        async with first.client("approver") as approver:
            approval = (await wait_for(lambda: _approvals(approver, "pending")))[0]
        tokens = first.tokens
    async with running_app(data_dir, with_users=False) as second:
        second.tokens = tokens
        async with second.client("approver") as approver:
            decided = await approver.post(
                f"/api/v1/approvals/{approval['id']}/decision",
                json={"call_id": approval["items"][0]["call_id"], "approve": True},
            )
            assert decided.status_code == 200

            async def completed() -> bool:
                run = (await approver.get(f"/api/v1/runs/{run_id}")).json()["run"]
                return run["status"] == "completed"

            await wait_for(completed)
        assert second.cluster.mutations() == [("scale", "frontend", "6")]
        assert first.cluster.mutations() == []


@pytest.mark.parametrize("name", ["approval_key", "secret_key"])
async def test_the_app_refuses_to_start_with_an_empty_key(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=f"OPSGATE_{name.upper()}.*at least 32 bytes"):
        async with running_app(tmp_path / "data", **{name: SecretStr("")}):
            pass
