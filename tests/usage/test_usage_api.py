"""Usage over HTTP: a conversation's total, `GET /usage` per user, model and day (admins
only), the `model.turn` stream events and the `/metrics` counters, all from the numbers the
scripted model reports."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from tests.fixtures.api import running_app, wait_for

SCRIPT = """
scripts:
  - match: "why"
    turns:
      - text: "Looking."
        tool_calls: [{name: k_get, args: {name: frontend}}]
        usage: {input_tokens: 1200, output_tokens: 34}
      - text: "frontend has **2** replicas."
        usage: {input_tokens: 1500, output_tokens: 56}
"""


def _sample(metrics: str, name: str, **labels: str) -> float | None:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return None


async def test_each_turn_is_counted_in_the_conversation_usage_and_metrics(
    tmp_path: Path,
) -> None:
    async with (
        running_app(tmp_path / "data", script_text=SCRIPT) as env,
        env.client("operator") as operator,
        env.client("admin") as admin,
    ):
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        cid = conversation["id"]
        run_id = (
            await operator.post(f"/api/v1/conversations/{cid}/messages", json={"text": "why 2?"})
        ).json()["run_id"]

        async def completed() -> bool:
            run = (await operator.get(f"/api/v1/runs/{run_id}")).json()["run"]
            return run["status"] == "completed"

        await wait_for(completed)

        detail = (await operator.get(f"/api/v1/conversations/{cid}")).json()
        assert detail["usage"] == {
            "turns": 2,
            "input_tokens": 2700,
            "output_tokens": 90,
            "cost_usd": None,
            "unpriced_turns": 2,
        }
        turns = [
            e.data for e in await env.state.store.events_after(cid, 0) if e.type == "model.turn"
        ]
        assert [(t["input_tokens"], t["output_tokens"]) for t in turns] == [
            (1200, 34),
            (1500, 56),
        ]
        for turn in turns:
            assert turn["model"] == "scripted"
            assert turn["cost_usd"] is None
            assert 0 <= turn["ttft_ms"] <= turn["duration_ms"]

        by_user = (await admin.get("/api/v1/usage", params={"group_by": "user"})).json()
        assert [(g["key"], g["label"], g["turns"]) for g in by_user["items"]] == [
            (env.users["operator"].id, "operator", 2)
        ]
        assert by_user["total"]["input_tokens"] == 2700
        by_model = (await admin.get("/api/v1/usage?group_by=model")).json()
        assert [(g["key"], g["output_tokens"]) for g in by_model["items"]] == [("scripted", 90)]
        by_day = (await admin.get("/api/v1/usage?group_by=day&days=7")).json()
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        assert [(g["key"], g["turns"]) for g in by_day["items"]] == [(today, 2)]
        assert by_day["total"]["cost_usd"] is None

        assert (await operator.get("/api/v1/usage")).status_code == 403
        bad = await admin.get("/api/v1/usage?group_by=team")
        assert bad.status_code == 422

        replayed = (await operator.get(f"/api/v1/conversations/{cid}/replay")).json()
        said = [e["summary"] for e in replayed["timeline"] if e["kind"] == "model.turn"]
        assert said == [
            f"model scripted: 1200 tokens in, 34 out, cost unknown, {turns[0]['duration_ms']} ms",
            f"model scripted: 1500 tokens in, 56 out, cost unknown, {turns[1]['duration_ms']} ms",
        ]
        timeline = (await operator.get(f"/api/v1/runs/{run_id}/timeline")).json()
        shown = [s["usage"] for s in timeline["steps"] if s["usage"] is not None]
        assert [(u["input_tokens"], u["output_tokens"]) for u in shown] == [(1200, 34), (1500, 56)]

        metrics = (await admin.get("/metrics")).text
        assert _sample(metrics, "opsgate_model_turns_total", model="scripted") == 2
        tokens = "opsgate_model_tokens_total"
        assert _sample(metrics, tokens, direction="input", model="scripted") == 2700
        assert _sample(metrics, tokens, direction="output", model="scripted") == 90
        # An unknown price adds no cost sample (never a 0 that reads as "free").
        assert _sample(metrics, "opsgate_model_cost_usd_total", model="scripted") is None
