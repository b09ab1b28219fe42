"""A whole conversation over HTTP: read, approval, execution, verification, on the stream
and in the audit log; and a stream that is rejoined with `Last-Event-ID` loses nothing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsgate.store.records import NewStreamEvent
from tests.fixtures.api import ApiEnv, live_server, running_app, wait_for

FINAL = ("completed", "stopped", "failed")


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse a text/event-stream body into {id, event, data} dicts (comments skipped)."""
    fields: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                yield {
                    "id": int(fields["id"]),
                    "event": fields.get("event"),
                    "data": json.loads(fields["data"]),
                }
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def collect_until(
    client: httpx.AsyncClient,
    url: str,
    stop_type: str,
    *,
    headers: dict[str, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Read a stream until an event of `stop_type` (or `limit` events), then hang up."""
    seen: list[dict[str, Any]] = []
    async with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for event in sse_events(response):
            seen.append(event)
            final = event["event"] != "run.finished" or event["data"]["status"] in FINAL
            if (event["event"] == stop_type and final) or (
                limit is not None and len(seen) >= limit
            ):
                break
    return seen


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[ApiEnv, str]]:
    async with running_app(tmp_path / "data") as env, live_server(env.app) as url:
        yield env, url


def _client(env: ApiEnv, url: str, role: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {env.tokens[role]}"}, timeout=30
    )  # type: ignore[index]


async def test_full_conversation_read_approve_execute_verify(
    served: tuple[ApiEnv, str],
) -> None:
    env, url = served
    async with (
        _client(env, url, "operator") as operator,
        _client(env, url, "approver") as approver,
        _client(env, url, "viewer") as viewer,
    ):
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        assert conversation["contexts"] == ["sandbox"]
        events_url = f"/api/v1/conversations/{conversation['id']}/events"
        stream = asyncio.create_task(collect_until(viewer, events_url, "run.finished"))
        await wait_for(lambda: _subscribed(env, conversation["id"]))

        refused = await viewer.post(
            f"/api/v1/conversations/{conversation['id']}/messages", json={"text": "scale it"}
        )
        assert refused.status_code == 403
        started = await operator.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": "please scale frontend to 3"},
        )
        assert started.status_code == 202
        run_id = started.json()["run_id"]

        pending = await wait_for(lambda: _pending(approver, conversation["id"]))
        approval = pending[0]
        item = approval["items"][0]
        assert item["tool"] == "k_scale"
        assert item["args"]["replicas"] == 3
        assert item["context"] == "sandbox"
        assert approval["proposed_by_name"] == "operator"
        assert env.cluster.mutations() == []

        body = {"call_id": item["call_id"], "approve": True}
        operator_try = await operator.post(
            f"/api/v1/approvals/{approval['id']}/decision", json=body
        )
        assert operator_try.status_code == 403
        decided = await approver.post(f"/api/v1/approvals/{approval['id']}/decision", json=body)
        assert decided.status_code == 200
        assert decided.json()["approval"]["status"] == "approved"
        assert decided.json()["approval"]["items"][0]["decision"]["decided_by_name"] == "approver"
        again = await approver.post(f"/api/v1/approvals/{approval['id']}/decision", json=body)
        assert again.status_code == 409

        try:
            events = await asyncio.wait_for(stream, 60)
        except TimeoutError:
            stored = await env.state.store.events_after(conversation["id"], 0, 10_000)
            run_now = await env.state.store.get_run(run_id)
            pytest.fail(f"stream incomplete; stored {[e.type for e in stored]}; run {run_now}")
        run_response = await viewer.get(f"/api/v1/runs/{run_id}")
        run = run_response.json()
        audit = (
            await viewer.get("/api/v1/audit", params={"conversation_id": conversation["id"]})
        ).json()["items"]

    types = [e["event"] for e in events]
    for expected in (
        "run.started",
        "plan",
        "tool.started",
        "tool.finished",
        "approval.requested",
        "approval.decided",
        "verify",
        "answer",
        "run.finished",
    ):
        assert expected in types, f"{expected} not in {types}"
    ids = [e["id"] for e in events]
    assert ids == sorted(set(ids))
    finished = [e["data"] for e in events if e["event"] == "tool.finished"]
    assert [(f["tool"], f["status"]) for f in finished] == [
        ("k_get", "succeeded"),
        ("k_scale", "succeeded"),
    ]
    assert next(e["data"] for e in events if e["event"] == "verify")["verdict"] == "verified"
    assert events[-1]["data"]["status"] == "completed"
    assert env.cluster.mutations() == [("scale", "frontend", "3")]
    assert run["run"]["status"] == "completed", run

    kinds = [e["kind"] for e in audit]
    for expected in (
        "request",
        "plan",
        "approval.requested",
        "approval.granted",
        "tool.started",
        "tool.finished",
        "verify",
        "run.finished",
    ):
        assert expected in kinds, expected
    granted = next(e for e in audit if e["kind"] == "approval.granted")
    assert granted["actor_name"] == "approver"


async def test_reconnect_with_last_event_id_loses_nothing_and_repeats_nothing(
    served: tuple[ApiEnv, str],
) -> None:
    env, url = served
    async with _client(env, url, "operator") as operator, _client(env, url, "approver") as approver:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        events_url = f"/api/v1/conversations/{conversation['id']}/events"
        await operator.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"text": "scale frontend please"},
        )
        # First connection: hang up after three events, while the run is still going.
        first = await collect_until(operator, events_url, "run.finished", limit=3)
        pending = await wait_for(lambda: _pending(approver, conversation["id"]))
        item = pending[0]["items"][0]
        # Reconnect as EventSource would, then approve while this stream is open.
        second_task = asyncio.create_task(
            collect_until(
                operator,
                events_url,
                "run.finished",
                headers={"Last-Event-ID": str(first[-1]["id"])},
            )
        )
        await wait_for(lambda: _subscribed(env, conversation["id"]))
        await approver.post(
            f"/api/v1/approvals/{pending[0]['id']}/decision",
            json={"call_id": item["call_id"], "approve": True},
        )
        second = await asyncio.wait_for(second_task, 60)
        # A manual resume with ?after= from the middle gives exactly the tail.
        middle = second[len(second) // 2]["id"]
        tail = await collect_until(operator, f"{events_url}?after={middle}", "run.finished")

    stored = await env.state.store.events_after(conversation["id"], 0, 10_000)
    stored_ids = [e.id for e in stored]
    joined = [e["id"] for e in first + second]
    assert joined == stored_ids
    assert [e["id"] for e in tail] == [i for i in stored_ids if i > middle]


async def _subscribed(env: ApiEnv, conversation_id: str) -> bool:
    return env.state.bus.subscriber_count(conversation_id) > 0


async def _pending(client: httpx.AsyncClient, conversation_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/approvals", params={"status": "pending", "conversation_id": conversation_id}
    )
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_idle_stream_gets_heartbeats_and_bad_resume_ids_are_refused(
    served: tuple[ApiEnv, str],
) -> None:
    env, url = served
    async with _client(env, url, "viewer") as viewer, _client(env, url, "operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        events_url = f"/api/v1/conversations/{conversation['id']}/events"
        lines: list[str] = []
        async with viewer.stream("GET", events_url) as response:
            async for line in response.aiter_lines():
                lines.append(line)
                if line.startswith(":"):
                    break
        assert lines[0].startswith("retry:")
        assert lines[-1] == ": keep-alive"
        bad = await viewer.get(events_url, headers={"Last-Event-ID": "not-a-number"})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "Last-Event-ID"
        missing = await viewer.get("/api/v1/conversations/nope/events")
        assert missing.status_code == 404
    async with httpx.AsyncClient(base_url=url) as anonymous:
        assert (await anonymous.get(events_url)).status_code == 401


async def test_events_persisted_by_another_replica_reach_the_stream(
    served: tuple[ApiEnv, str],
) -> None:
    env, url = served
    async with _client(env, url, "viewer") as viewer, _client(env, url, "operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        events_url = f"/api/v1/conversations/{conversation['id']}/events"
        stream = asyncio.create_task(collect_until(viewer, events_url, "answer"))
        await wait_for(lambda: _subscribed(env, conversation["id"]))
        # Another process wrote it: persisted in the shared database, never on this bus.
        [stored] = await env.state.store.write_batch(
            [
                NewStreamEvent(
                    conversation["id"], "run_elsewhere", "answer", {"text": "from replica two"}
                )
            ]
        )
        events = await asyncio.wait_for(stream, 20)
    assert [(e["id"], e["data"]["text"]) for e in events] == [(stored.id, "from replica two")]
