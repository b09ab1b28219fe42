"""Helpers the timeline tests share: a conversation's pending approvals over the API, and the
"tidy" run (a read, an approved and verified scale, a rejected delete) on the engine tests'
tools."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.api import ApiEnv, wait_for


async def pending_approvals(
    client: httpx.AsyncClient, conversation_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/approvals", params={"status": "pending", "conversation_id": conversation_id}
    )
    items: list[dict[str, Any]] = response.json()["items"]
    return items


SCRIPT = """
scripts:
  - match: "tidy"
    turns:
      - text: "Reading frontend first."
        tool_calls: [{name: k_get, args: {name: frontend}}]
      - text: "Scaling frontend to 3 and deleting legacy."
        tool_calls:
          - {name: k_scale, args: {name: frontend, replicas: 3}}
          - {name: k_delete, args: {name: legacy}}
      - text: "frontend runs 3 replicas; legacy stays."
"""


async def tidy_run(env: ApiEnv) -> tuple[str, str]:
    async with env.client("operator") as operator, env.client("approver") as approver:
        conversation = (await operator.post("/api/v1/conversations", json={"title": "Tidy"})).json()
        started = await operator.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "tidy up"}
        )
        assert started.status_code == 202, started.text
        run_id: str = started.json()["run_id"]
        (approval,) = await wait_for(lambda: pending_approvals(approver, conversation["id"]))
        items = {item["tool"]: item["call_id"] for item in approval["items"]}
        for tool, body in (
            ("k_scale", {"approve": True}),
            ("k_delete", {"approve": False, "reason": "legacy still serves"}),
        ):
            decided = await approver.post(
                f"/api/v1/approvals/{approval['id']}/decision",
                json={"call_id": items[tool], **body},
            )
            assert decided.status_code == 200, decided.text

        async def finished() -> bool:
            run = (await operator.get(f"/api/v1/runs/{run_id}")).json()["run"]
            return run["status"] not in ("running", "awaiting_approval")

        await wait_for(finished)
    return conversation["id"], run_id
