"""Without a model: the API says so and how to fix it; the direct path still works."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.api import running_app, wait_for


async def test_no_model_is_reported_and_direct_calls_still_run(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", model=None) as env:
        async with env.client("operator") as operator:
            info = (await operator.get("/api/v1/model")).json()
            assert info["configured"] is False
            assert info["model"] is None
            assert "OPSGATE_MODEL" in info["how_to"]
            conversation = (await operator.post("/api/v1/conversations", json={})).json()
            asked = await operator.post(
                f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "why?"}
            )
            assert asked.status_code == 503
            assert asked.json()["error"]["code"] == "config_error"
            assert "OPSGATE_MODEL" in asked.json()["error"]["message"]
            run_id = (
                await operator.post(
                    f"/api/v1/conversations/{conversation['id']}/calls",
                    json={"tool": "k_get", "args": {"name": "api"}},
                )
            ).json()["run_id"]

            async def completed() -> bool:
                run = (await operator.get(f"/api/v1/runs/{run_id}")).json()["run"]
                return run["status"] == "completed"

            await wait_for(completed)
        assert ("get", "api") in env.cluster.calls
