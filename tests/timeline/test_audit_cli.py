"""`opsgate audit verify --file` on an export, intact and tampered, `audit replay --file`, and
`audit tail`'s columns, run as a user would against a SQLite data directory."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from opsgate.domain.canonical import canonical_json, sha256_hex
from opsgate.settings import Settings
from opsgate.store import sql
from tests.fixtures.api import running_app
from tests.fixtures.cli import RunCli
from tests.timeline.flows import SCRIPT, tidy_run


async def _append(data_dir: Path, events: list[tuple[str, dict[str, Any], str]]) -> None:
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    store = await sql.open_store(
        settings.sqlalchemy_url(),
        secret_key=settings.key("secret_key"),
        audit_key=settings.key("audit_key"),
    )
    try:
        for kind, payload, actor in events:
            await store.append_audit(kind, payload, actor_id=None, actor_name=actor)
    finally:
        await store.close()


def _exported(run_cli: RunCli, tmp_path: Path) -> Path:
    run_cli("users", "add", "ada", "--role", "approver", "--no-password")
    run_cli("tokens", "create", "ada", "--name", "laptop")
    out = tmp_path / "audit.jsonl"
    exported = run_cli("audit", "export", "--format", "jsonl", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    return out


def test_verify_file_accepts_an_intact_export_and_says_whether_hmacs_were_checked(
    run_cli: RunCli, tmp_path: Path
) -> None:
    out = _exported(run_cli, tmp_path)
    events = len(out.read_text().splitlines()) - 1

    unkeyed = run_cli("audit", "verify", "--file", str(out))
    assert unkeyed.returncode == 0, unkeyed.stdout + unkeyed.stderr
    assert f"audit chain intact in {out}: {events} events hash-chained" in unkeyed.stdout
    assert "HMACs NOT checked: no key" in unkeyed.stdout

    key_file = tmp_path / "data" / "keys" / "audit_key"
    keyed = run_cli("audit", "verify", "--file", str(out), "--key-file", str(key_file))
    assert keyed.returncode == 0, keyed.stdout + keyed.stderr
    assert f"{events} events verified with the audit key" in keyed.stdout


def test_verify_file_names_the_edited_event_of_a_tampered_export(
    run_cli: RunCli, tmp_path: Path
) -> None:
    out = _exported(run_cli, tmp_path)
    lines = out.read_text().splitlines()
    edited = json.loads(lines[0])
    edited["actor_name"] = "mallory"  # still canonical JSON: only the hash gives it away
    lines[0] = canonical_json(edited)
    out.write_text("\n".join(lines) + "\n")

    broken = run_cli("audit", "verify", "--file", str(out))
    assert broken.returncode == 1
    assert f"audit chain broken at seq {edited['seq']}" in broken.stdout
    assert "hash does not match the event's contents" in broken.stdout


def test_verify_file_refuses_an_export_cut_before_its_head(run_cli: RunCli, tmp_path: Path) -> None:
    out = _exported(run_cli, tmp_path)
    out.write_text("\n".join(out.read_text().splitlines()[:-1]) + "\n")
    broken = run_cli("audit", "verify", "--file", str(out))
    assert broken.returncode == 1
    assert "no head record as its last line" in broken.stdout


def test_filtered_and_key_file_need_an_export(run_cli: RunCli) -> None:
    result = run_cli("audit", "verify", "--filtered")
    assert result.returncode == 2
    assert "only with --file" in result.stderr


def test_tail_prints_tool_object_actor_and_outcome(run_cli: RunCli, tmp_path: Path) -> None:
    granted = {
        "approval_id": "apr_1",
        "call_id": "call_1",
        "tool": "k8s_delete",
        "object": "deployment/web",
        "namespace": "shop",
        "reason": "stale",
    }
    started = {"tool": "k8s_scale", "args": {"resource": "deployment/api", "replicas": 2}}
    finished = {"tool": "k8s_scale", "status": "failed", "exit_code": 1}
    asyncio.run(
        _append(
            tmp_path / "data",
            [
                ("approval.granted", granted, "ada"),
                ("tool.started", started, "oscar"),
                ("tool.finished", finished, "oscar"),
            ],
        )
    )
    tail = run_cli("audit", "tail", "-n", "3")
    assert tail.returncode == 0, tail.stderr
    approval, start, finish = tail.stdout.splitlines()
    assert "tool=k8s_delete object=deployment/web actor=ada outcome=approved" in approval
    assert "tool=k8s_scale object=deployment/api actor=oscar outcome=-" in start
    assert "tool=k8s_scale object=- actor=oscar outcome=failed" in finish


def _tidy_export(run_cli: RunCli, tmp_path: Path) -> tuple[str, Path]:
    async def tidy() -> str:
        async with running_app(tmp_path / "data", script_text=SCRIPT) as env:
            conversation_id, _ = await tidy_run(env)
        return conversation_id

    conversation_id = asyncio.run(tidy())
    out = tmp_path / "tidy.jsonl"
    exported = run_cli("audit", "export", "--conversation", conversation_id, "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    return conversation_id, out


def test_replay_file_tells_the_run_from_an_export_as_the_database_does(
    run_cli: RunCli, tmp_path: Path
) -> None:
    conversation_id, out = _tidy_export(run_cli, tmp_path)
    offline = run_cli("audit", "replay", "--file", str(out), conversation_id)
    assert offline.returncode == 0, offline.stdout + offline.stderr
    lines = offline.stdout.splitlines()
    assert lines[0].startswith("run run_")
    assert " completed " in lines[0]
    text = offline.stdout
    for expected in (
        "request",
        "model turn model turn 1",
        "Reading frontend first.",
        "call k_get [succeeded]",
        "call k_scale [verified]",
        "call k_delete [rejected]",
        "approval [approved]",
        "approval [rejected]",
        "legacy still serves",
        "by approver",
        "execution run k_scale [succeeded]",
        "verification [verified]",
        "answer [completed]",
        "frontend runs 3 replicas; legacy stays.",
    ):
        assert expected in text, expected
    scale_preview = sha256_hex("would scale frontend to 3")
    assert f"preview sha256 {scale_preview} matches the decision" in text
    assert run_cli("audit", "replay", conversation_id).stdout == offline.stdout


def test_replay_file_refuses_a_tampered_export_and_an_unknown_conversation(
    run_cli: RunCli, tmp_path: Path
) -> None:
    conversation_id, out = _tidy_export(run_cli, tmp_path)
    lines = out.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["actor_name"] = "mallory"
    lines[1] = canonical_json(edited)
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")

    refused = run_cli("audit", "replay", "--file", str(tampered), conversation_id)
    assert refused.returncode == 1
    assert f"audit chain broken at seq {edited['seq']}" in refused.stdout
    assert "mallory" not in refused.stdout
    unknown = run_cli("audit", "replay", "--file", str(out), "cnv_nothere")
    assert unknown.returncode == 1
    assert "no run of conversation 'cnv_nothere'" in unknown.stdout
