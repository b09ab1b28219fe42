"""Helpers the timeline tests share: the pending approvals of a conversation over the API."""

from __future__ import annotations

from typing import Any

import httpx


async def pending_approvals(
    client: httpx.AsyncClient, conversation_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/approvals", params={"status": "pending", "conversation_id": conversation_id}
    )
    items: list[dict[str, Any]] = response.json()["items"]
    return items
