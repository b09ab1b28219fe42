"""The user's own stream (`GET /events/me`): inbox snapshots as approvals open and close, on
one server and across two replicas sharing PostgreSQL; and the bus's wake-up behind it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsgate.api.routes.user_events import APPROVAL_EVENTS
from opsgate.engine.bus import EventBus
from opsgate.store.records import StreamEvent
from tests.fixtures.api import live_server, running_app, wait_for
from tests.inbox.test_inbox_api import propose, wait_inbox


async def snapshots(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The `inbox` events of a stream, parsed (comments and `retry` skipped)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if fields.get("event") == "inbox":
                yield json.loads(fields["data"])
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def _client(url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


async def test_the_stream_follows_the_inbox_as_a_request_opens_and_is_decided(
    tmp_path: Path,
) -> None:
    async with (
        running_app(tmp_path / "data") as env,
        live_server(env.app) as url,
        _client(url, env.tokens["operator"]) as operator,
        _client(url, env.tokens["approver"]) as approver,
        approver.stream("GET", "/api/v1/events/me") as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        seen = snapshots(response)
        async with asyncio.timeout(30):
            assert await anext(seen) == {"pending": 0, "waiting_on_me": 0, "new": []}
            conversation = await propose(operator)
            opened = await anext(seen)
            row = (await wait_inbox(approver, 1))["items"][0]
            decided = await approver.post(
                f"/api/v1/approvals/{row['approval_id']}/decision",
                json={"call_id": row["call_id"], "approve": True},
            )
            assert decided.status_code == 200, decided.text
            closed = await anext(seen)
    assert (opened["pending"], opened["waiting_on_me"]) == (1, 1)
    assert opened["new"] == [
        {
            "approval_id": row["approval_id"],
            "call_id": row["call_id"],
            "conversation_id": conversation,
            "tool": "k_scale",
            "namespace": None,
            "context": "sandbox",
            "destructive": False,
            "proposed_by_name": "operator",
        }
    ]
    assert closed == {"pending": 0, "waiting_on_me": 0, "new": []}


async def test_an_operator_stream_stays_at_zero_and_names_nothing(tmp_path: Path) -> None:
    async with (
        running_app(tmp_path / "data") as env,
        live_server(env.app) as url,
        _client(url, env.tokens["operator"]) as operator,
        _client(url, env.tokens["approver"]) as approver,
        operator.stream("GET", "/api/v1/events/me") as response,
    ):
        seen = snapshots(response)
        async with asyncio.timeout(30):
            assert await anext(seen) == {"pending": 0, "waiting_on_me": 0, "new": []}
            await propose(operator)
            await wait_inbox(approver, 1)
            # Heartbeats (0.5 s here) re-read the inbox; nothing changed for the operator.
            nothing = asyncio.ensure_future(anext(seen))
            done, _ = await asyncio.wait({nothing}, timeout=1.5)
            nothing.cancel()
    assert done == set()


async def test_the_stream_ends_once_its_user_is_disabled(tmp_path: Path) -> None:
    async with (
        running_app(tmp_path / "data") as env,
        live_server(env.app) as url,
        _client(url, env.tokens["approver"]) as approver,
        approver.stream("GET", "/api/v1/events/me") as response,
    ):
        seen = snapshots(response)
        async with asyncio.timeout(30):
            assert (await anext(seen))["pending"] == 0
            await env.state.store.update_user(env.users["approver"].id, disabled=True)
            rest = [snapshot async for snapshot in seen]
    assert rest == []


async def test_the_stream_needs_a_signed_in_user(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as env, env.client() as anonymous:
        answer = await anonymous.get("/api/v1/events/me")
    assert answer.status_code == 401


@pytest.mark.postgres
async def test_a_request_opened_on_one_replica_reaches_the_stream_on_another(
    tmp_path: Path, postgres_url: str
) -> None:
    async with (
        running_app(tmp_path / "a", database_url=postgres_url) as replica_a,
        running_app(tmp_path / "b", database_url=postgres_url, with_users=False) as replica_b,
        live_server(replica_b.app) as url_b,
        replica_a.client("operator") as operator,
        _client(url_b, replica_a.tokens["approver"]) as approver_b,
        approver_b.stream("GET", "/api/v1/events/me") as response,
    ):
        seen = snapshots(response)
        async with asyncio.timeout(30):
            assert (await anext(seen))["pending"] == 0
            await propose(operator)
            opened = await anext(seen)
    assert (opened["pending"], opened["waiting_on_me"], len(opened["new"])) == (1, 1, 1)


def _event(conversation_id: str, type: str = "approval.requested") -> StreamEvent:
    return StreamEvent(
        id=1,
        conversation_id=conversation_id,
        run_id="r1",
        type=type,
        data={},
        created_at=datetime.now(UTC),
    )


async def test_a_watch_wakes_on_its_types_in_any_conversation_and_on_close() -> None:
    bus = EventBus()
    watch = bus.watch(APPROVAL_EVENTS)
    assert await watch.wait(0.05) is False
    bus.publish("nobody-subscribed", _event("nobody-subscribed", "token"))
    assert await watch.wait(0.05) is False
    bus.publish("nobody-subscribed", _event("nobody-subscribed"))
    assert await watch.wait(1) is True
    assert await watch.wait(0.05) is False
    bus.close()
    assert await watch.wait(1) is True
    assert watch.closed


async def test_a_shared_bus_wakes_watches_on_notices_of_other_replicas(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as env:
        bus = EventBus(source=env.state.store)
        watch = bus.watch(APPROVAL_EVENTS)
        bus.notice("written-by-another-replica", 7)
        woken = await wait_for(lambda: watch.wait(1))
        watch.close()
    assert woken is True
    assert bus._watches == set()
