"""Audit over HTTP after a real run: pages, chain check, exports that verify offline, replay."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from opsgate.errors import StoreError
from opsgate.store import audit_export
from tests.fixtures.api import ApiEnv, running_app, wait_for


async def _direct_read(env: ApiEnv) -> tuple[str, str]:
    async with env.client("operator") as operator:
        conversation = (await operator.post("/api/v1/conversations", json={})).json()
        started = await operator.post(
            f"/api/v1/conversations/{conversation['id']}/calls",
            json={"tool": "k_get", "args": {"name": "frontend"}},
        )
        assert started.status_code == 202
        run_id = started.json()["run_id"]

        async def finished() -> bool:
            run = (await operator.get(f"/api/v1/runs/{run_id}")).json()["run"]
            return run["status"] == "completed"

        await wait_for(finished)
    return conversation["id"], run_id


async def test_direct_read_is_audited_exported_verified_and_replayed(api_env: ApiEnv) -> None:
    conversation_id, _ = await _direct_read(api_env)
    assert api_env.cluster.calls == [("get", "frontend")]
    async with api_env.client("viewer") as viewer:
        verify = (await viewer.get("/api/v1/audit/verify")).json()
        assert verify["ok"] is True
        assert verify["checked"] > 0
        assert (verify["head_seq"], verify["keyed"]) == (verify["checked"], True)

        jsonl = await viewer.get("/api/v1/audit/export", params={"format": "jsonl"})
        assert jsonl.status_code == 200
        assert "attachment" in jsonl.headers["content-disposition"]
        lines = jsonl.text.splitlines()
        assert json.loads(lines[-1])["head"]["hash"] == verify["head_hash"]
        key = api_env.settings.key("audit_key")
        offline = audit_export.verify_export_lines(lines, complete=True, key=key)
        assert offline.ok, offline
        assert offline.checked == verify["checked"]

        exported = await viewer.get(
            "/api/v1/audit/export", params={"format": "csv", "conversation_id": conversation_id}
        )
        *rows, head = list(csv.DictReader(io.StringIO(exported.text)))
        assert {row["conversation_id"] for row in rows} == {conversation_id}
        assert (head["kind"], head["hash"]) == ("audit.head", verify["head_hash"])
        assert "tool.finished" in [row["kind"] for row in rows]

        replay = (await viewer.get(f"/api/v1/conversations/{conversation_id}/replay")).json()
        kinds = [entry["kind"] for entry in replay["timeline"]]
        assert kinds[0] == "request"
        assert "tool.finished" in kinds
        assert replay["calls"][0]["tool"] == "k_get"

        page = (await viewer.get("/api/v1/audit", params={"limit": 2})).json()
        assert len(page["items"]) == 2
        rest = (
            await viewer.get("/api/v1/audit", params={"after_seq": page["next_after_seq"]})
        ).json()
        assert rest["items"][0]["seq"] == page["items"][-1]["seq"] + 1


async def test_conversation_detail_lists_messages_runs_and_calls(api_env: ApiEnv) -> None:
    conversation_id, run_id = await _direct_read(api_env)
    async with api_env.client("viewer") as viewer:
        detail = (await viewer.get(f"/api/v1/conversations/{conversation_id}")).json()
        listed = (await viewer.get("/api/v1/conversations", params={"limit": 1})).json()
    assert [run["id"] for run in detail["runs"]] == [run_id]
    assert [call["tool"] for call in detail["calls"]] == ["k_get"]
    assert detail["approvals"] == []
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == conversation_id


async def test_verify_names_the_missing_range_when_the_tail_is_cut(api_env: ApiEnv) -> None:
    await _direct_read(api_env)
    async with api_env.client("viewer") as viewer:
        before = (await viewer.get("/api/v1/audit/verify")).json()
    last = before["head_seq"]
    database = api_env.settings.data_dir / "opsgate.db"
    with sqlite3.connect(database) as db:
        for trigger in ("audit_log_no_delete", "audit_log_no_replace"):
            db.execute(f"DROP TRIGGER {trigger}")
        db.execute("DELETE FROM audit_log WHERE seq > ?", (last - 2,))
    async with api_env.client("viewer") as viewer:
        after = (await viewer.get("/api/v1/audit/verify")).json()
    assert after["ok"] is False
    assert after["missing_range"] == [last - 1, last]
    assert (after["first_broken_seq"], after["head_seq"]) == (last - 1, last)


async def test_the_server_refuses_to_start_on_a_log_that_lost_its_tail(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_app(data_dir) as env:
        await _direct_read(env)
        async with env.client("viewer") as viewer:
            head_seq = (await viewer.get("/api/v1/audit/verify")).json()["head_seq"]
    assert head_seq > 0
    with sqlite3.connect(data_dir / "opsgate.db") as db:
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute("DELETE FROM audit_log WHERE seq = ?", (head_seq,))
    with pytest.raises(StoreError, match=f"events {head_seq}..{head_seq} are missing"):
        async with running_app(data_dir, with_users=False):
            pass
