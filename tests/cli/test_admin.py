"""`opsgate users`, `tokens` and `audit` run as a user would, against a SQLite data directory."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from opsgate.api import accounts
from opsgate.settings import Settings
from opsgate.store import audit_export, sql
from tests.fixtures.api import ODD_USERNAMES, PASSWORD, live_server, running_app
from tests.fixtures.cli import RunCli


def test_first_admin_is_created_from_the_cli_and_listed(run_cli: RunCli) -> None:
    added = run_cli("users", "add", "alice", "--role", "admin", "--password", "correct horse")
    assert added.returncode == 0, added.stderr
    listed = run_cli("users", "list")
    assert "alice" in listed.stdout
    assert "admin" in listed.stdout


def test_unknown_role_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("users", "add", "bob", "--role", "root", "--password", "correct horse")
    assert result.returncode == 2
    assert "not a role" in result.stderr


def test_short_password_is_refused_and_creates_nobody(run_cli: RunCli) -> None:
    result = run_cli("users", "add", "bob", "--password", "short")
    assert result.returncode == 1
    assert "password: must have at least" in result.stderr
    assert "bob" not in run_cli("users", "list").stdout


def test_lookalike_and_invisible_usernames_are_refused_as_the_api_refuses_them(
    run_cli: RunCli,
) -> None:
    for name in ODD_USERNAMES:
        result = run_cli("users", "add", "--password", "correct horse battery", "--", name)
        assert result.returncode == 1, (name, result.stdout)
        assert "username: must be" in result.stderr, (name, result.stderr)
    # Each user would be listed with the default role.
    assert "operator" not in run_cli("users", "list").stdout


def test_cli_tokens_are_marked_as_made_by_the_cli(run_cli: RunCli) -> None:
    run_cli("users", "add", "ci", "--role", "approver", "--no-password")
    assert run_cli("tokens", "create", "ci", "--name", "pipeline").returncode == 0
    listed = run_cli("tokens", "list")
    row = next(line for line in listed.stdout.splitlines() if "pipeline" in line)
    assert "cli" in row.split("pipeline", 1)[1]


async def test_tokens_login_makes_a_token_of_ones_own_on_the_server(
    run_cli: RunCli, tmp_path: Path
) -> None:
    async with running_app(tmp_path / "data") as env, live_server(env.app) as url:
        args = ("tokens", "login", "approver", "--name", "laptop", "--server", url)
        made = await asyncio.to_thread(run_cli, *args, "--password", PASSWORD)
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1]
        found = await env.state.store.find_token(accounts.token_hash(token))
        assert found is not None
        assert found[1].username == "approver"
        assert found[0].made_by_owner
        wrong = await asyncio.to_thread(run_cli, *args, "--password", "not the password")
        assert wrong.returncode == 1
        assert "401" in wrong.stderr


def test_token_is_shown_once_and_listed_only_by_prefix(run_cli: RunCli) -> None:
    run_cli("users", "add", "ci", "--role", "operator", "--no-password")
    created = run_cli("tokens", "create", "ci", "--name", "pipeline")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert len(token) > 20
    listed = run_cli("tokens", "list")
    assert "pipeline" in listed.stdout
    assert token not in listed.stdout


def test_audit_verify_passes_then_detects_tampering_at_the_edited_event(
    run_cli: RunCli, tmp_path: Path
) -> None:
    for name in ("ann", "ben", "cat"):
        assert run_cli("users", "add", name, "--password", "correct horse").returncode == 0
    ok = run_cli("audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "intact" in ok.stdout

    database = tmp_path / "data" / "opsgate.db"
    with sqlite3.connect(database) as db:
        triggers = [
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        ]
        assert triggers, "the audit table must be protected by triggers"
        for trigger in triggers:
            db.execute(f'DROP TRIGGER "{trigger}"')
        table = next(
            row[0]
            for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if "audit" in row[0]
        )
        select = f"SELECT payload FROM {table} WHERE seq = 2"  # noqa: S608 - our own table name
        (payload,) = db.execute(select).fetchone()
        edited = json.loads(payload) | {"username": "mallory"}
        update = f"UPDATE {table} SET payload = ? WHERE seq = 2"  # noqa: S608 - as above
        db.execute(update, (json.dumps(edited),))

    broken = run_cli("audit", "verify")
    assert broken.returncode == 1
    assert "broken" in broken.stdout
    assert "seq 2" in broken.stdout


def _drop_triggers_and_cut_the_tail(database: Path, keep: int) -> None:
    with sqlite3.connect(database) as db:
        for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'"):
            db.execute(f'DROP TRIGGER "{trigger}"')
        db.execute("DELETE FROM audit_log WHERE seq > ?", (keep,))


def test_audit_verify_names_the_missing_range_of_a_cut_tail_and_writes_stop(
    run_cli: RunCli, tmp_path: Path
) -> None:
    for name in ("ann", "ben", "cat"):
        assert run_cli("users", "add", name, "--password", "correct horse").returncode == 0
    _drop_triggers_and_cut_the_tail(tmp_path / "data" / "opsgate.db", keep=1)

    broken = run_cli("audit", "verify")

    assert broken.returncode == 1
    assert "audit chain broken at seq 2" in broken.stdout
    assert "missing events: 2..3" in broken.stdout
    assert "head seq 3" in broken.stdout
    refused = run_cli("users", "add", "dan", "--password", "correct horse")
    assert refused.returncode == 1
    assert "does not match its signed head record" in refused.stderr
    assert "dan" not in run_cli("users", "list").stdout


def test_audit_export_writes_jsonl_with_hashes_and_the_signed_head(
    run_cli: RunCli, tmp_path: Path
) -> None:
    run_cli("users", "add", "ann", "--password", "correct horse")
    out = tmp_path / "audit.jsonl"
    result = run_cli("audit", "export", "--format", "jsonl", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 1 events" in result.stdout
    lines = out.read_text().splitlines()
    *events, head = [json.loads(line) for line in lines]
    assert [line["kind"] for line in events] == ["user.created"]
    assert len(events[0]["hash"]) == len(events[0]["mac"]) == 64
    assert (head["head"]["seq"], head["head"]["hash"]) == (1, events[0]["hash"])
    key = (tmp_path / "data" / "keys" / "audit_key").read_bytes().strip()
    assert audit_export.verify_export_lines(lines, complete=True, key=key).ok


_UNTRUSTED = "[/bold][conceal]eve[/conceal]\x1b[2J\u202e"


def test_audit_tail_prints_untrusted_names_and_payloads_literally(
    run_cli: RunCli, tmp_path: Path
) -> None:
    async def append() -> None:
        settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
        store = await sql.open_store(
            settings.sqlalchemy_url(),
            secret_key=settings.key("secret_key"),
            audit_key=settings.key("audit_key"),
        )
        try:
            await store.append_audit(
                "user.login", {"note": _UNTRUSTED}, actor_id=None, actor_name=_UNTRUSTED
            )
        finally:
            await store.close()

    asyncio.run(append())
    tail = run_cli("audit", "tail", "-n", "5")

    assert tail.returncode == 0, tail.stderr
    assert "\x1b" not in tail.stdout
    assert "\u202e" not in tail.stdout
    (line,) = tail.stdout.splitlines()
    assert "user.login" in line
    assert "[/bold][conceal]eve[/conceal]\\x1b[2J<U+202E>" in line  # the actor, made visible
    assert '"note": "[/bold][conceal]eve[/conceal]\\u001b[2J<U+202E>"' in line  # the payload
