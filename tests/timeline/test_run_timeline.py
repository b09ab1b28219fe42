"""`GET /runs/{id}/timeline`: a run with a read, an approved and verified change and a rejected
change, told as timed steps read from the audit log, each naming its audit events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from opsgate.api import accounts
from opsgate.domain.canonical import sha256_hex
from tests.fixtures.api import ApiEnv, running_app
from tests.timeline.flows import SCRIPT, tidy_run


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[ApiEnv]:
    async with running_app(tmp_path / "data", script_text=SCRIPT) as env:
        yield env


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_timeline_tells_the_run_as_timed_steps_linked_to_audit_events(env: ApiEnv) -> None:
    conversation_id, run_id = await tidy_run(env)
    async with env.client("viewer") as viewer:
        response = await viewer.get(f"/api/v1/runs/{run_id}/timeline")
        audit = (await viewer.get("/api/v1/audit", params={"run_id": run_id})).json()["items"]
        missing = await viewer.get("/api/v1/runs/run_nothere/timeline")
    assert response.status_code == 200, response.text
    timeline = response.json()
    assert (timeline["conversation_id"], timeline["conversation_title"]) == (
        conversation_id,
        "Tidy",
    )
    steps: list[dict[str, Any]] = timeline["steps"]
    kinds = [s["kind"] for s in steps]
    assert kinds[0] == "request"
    assert kinds[-1] == "answer"
    # The last turn plans nothing: it is the answer, timed from the step before it.
    assert kinds.count("model_turn") == 2
    assert steps[-1]["text"] == "frontend runs 3 replicas; legacy stays."
    assert steps[0]["text"] == "tidy up"
    assert steps[0]["actor"] == "operator"
    turns = [s for s in steps if s["kind"] == "model_turn"]
    assert turns[0]["text"] == "Reading frontend first."

    calls = {s["tool"]: s for s in steps if s["kind"] == "call"}
    assert set(calls) == {"k_get", "k_scale", "k_delete"}
    assert (calls["k_get"]["classification"], calls["k_get"]["outcome"]) == ("read", "succeeded")
    assert calls["k_scale"]["outcome"] == "verified"
    assert calls["k_delete"]["outcome"] == "rejected"

    by_id = {s["id"]: s for s in steps}
    scale_id, delete_id = calls["k_scale"]["id"], calls["k_delete"]["id"]
    approval = next(s for s in steps if s["kind"] == "approval" and s["parent"] == scale_id)
    assert (approval["outcome"], approval["actor"]) == ("approved", "approver")
    assert approval["preview"] == "would scale frontend to 3"
    assert approval["preview_sha256"] == sha256_hex("would scale frontend to 3")
    assert approval["preview_matches"] is True
    rejected = next(s for s in steps if s["kind"] == "approval" and s["parent"] == delete_id)
    assert (rejected["outcome"], rejected["text"]) == ("rejected", "legacy still serves")
    assert not [s for s in steps if s["kind"] == "execution" and s["parent"] == delete_id]

    execution = next(s for s in steps if s["kind"] == "execution" and s["parent"] == scale_id)
    assert execution["exit_code"] == 0
    assert execution["output_size"] is not None
    assert execution["output_sha256"]
    verification = next(s for s in steps if s["kind"] == "verification")
    assert (verification["parent"], verification["outcome"]) == (scale_id, "verified")

    for step in steps:
        assert step["duration_ms"] >= 0
        assert _at(step["started_at"]) <= _at(step["ended_at"])
        if step["parent"]:
            assert _at(by_id[step["parent"]]["ended_at"]) >= _at(step["ended_at"])
    # Every audit event of the run is behind some step, and every step's events exist.
    seqs = {seq for s in steps for seq in s["audit_seqs"]}
    assert seqs == {event["seq"] for event in audit}
    assert missing.status_code == 404


async def test_someone_without_a_role_in_the_runs_context_sees_neither_timeline_nor_rows(
    env: ApiEnv,
) -> None:
    _, run_id = await tidy_run(env)
    store = env.state.store
    stranger = await store.create_user("stranger", "none", None)
    stranger = await accounts.grant_role(
        store, stranger, "viewer", "other", None, actor=accounts.CLI, via="cli"
    )
    token, _ = await accounts.create_token(
        store, stranger, "t", None, actor=accounts.Actor.of(stranger), via="api"
    )
    async with env.client(headers={"Authorization": f"Bearer {token}"}) as client:
        timeline = await client.get(f"/api/v1/runs/{run_id}/timeline")
        rows = (await client.get("/api/v1/audit", params={"run_id": run_id})).json()
    assert timeline.status_code == 404
    assert rows["items"] == []
    assert rows["next_after_seq"] is None
