"""`opsgate users grant / revoke / show / list` run as a user would, against a SQLite data
directory: every grant change lands in the audit log (and the chain still verifies)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.cli import RunCli


def _audit(run_cli: RunCli, tmp_path: Path) -> list[dict[str, object]]:
    out = tmp_path / "audit.jsonl"
    exported = run_cli("audit", "export", "--format", "jsonl", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    *events, _head = [json.loads(line) for line in out.read_text().splitlines()]
    return events


def test_grants_are_listed_shown_and_every_change_is_audited(
    run_cli: RunCli, tmp_path: Path
) -> None:
    assert run_cli("users", "add", "alice", "--role", "viewer", "--no-password").returncode == 0
    granted = run_cli(
        "users", "grant", "alice", "approver", "--context", "prod", "--namespace", "payments"
    )
    assert granted.returncode == 0, granted.stderr
    assert "approver for prod/payments" in granted.stdout
    assert run_cli("users", "grant", "alice", "operator", "--context", "staging").returncode == 0
    # Granting again at the same scope replaces the role there.
    again = run_cli(
        "users", "grant", "alice", "operator", "--context", "prod", "--namespace", "payments"
    )
    assert again.returncode == 0, again.stderr

    shown = run_cli("users", "show", "alice").stdout
    assert "role viewer everywhere" in shown
    assert "operator for prod/payments" in shown
    assert "operator for staging" in shown
    listed = run_cli("users", "list").stdout
    assert "operator for prod/payments, operator for staging" in listed

    revoked = run_cli("users", "revoke", "alice", "--context", "staging")
    assert revoked.returncode == 0, revoked.stderr
    assert "operator for staging" not in run_cli("users", "show", "alice").stdout

    events = [e for e in _audit(run_cli, tmp_path) if e["kind"] != "user.created"]
    assert [(e["kind"], e["actor_name"]) for e in events] == [
        ("user.granted", "cli"),
        ("user.granted", "cli"),
        ("user.granted", "cli"),
        ("user.grant_revoked", "cli"),
    ]
    payloads = [e["payload"] for e in events]
    assert payloads[0] == {
        "user_id": payloads[0]["user_id"],  # type: ignore[index]
        "username": "alice",
        "role": "approver",
        "context": "prod",
        "namespace": "payments",
        "previous": None,
        "via": "cli",
    }
    assert payloads[2]["previous"] == "approver"  # type: ignore[index]
    assert payloads[3]["role"] == "operator"  # type: ignore[index]
    assert payloads[3]["namespace"] is None  # type: ignore[index]
    assert run_cli("audit", "verify").returncode == 0


def test_bad_grants_are_refused_clearly_and_change_nothing(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("users", "add", "bob", "--role", "viewer", "--no-password").returncode == 0
    bad_role = run_cli("users", "grant", "bob", "root", "--context", "prod")
    assert bad_role.returncode == 2
    assert "not a role" in bad_role.stderr
    bad_namespace = run_cli(
        "users", "grant", "bob", "operator", "--context", "prod", "--namespace", "Pay_ments"
    )
    assert bad_namespace.returncode == 1
    assert "namespace" in bad_namespace.stderr
    bad_context = run_cli("users", "grant", "bob", "operator", "--context", "--all")
    assert bad_context.returncode != 0
    nothing = run_cli("users", "revoke", "bob", "--context", "prod")
    assert nothing.returncode == 1
    assert "user 'bob' holds no grant for 'prod'" in nothing.stderr
    assert "no scoped grants" in run_cli("users", "show", "bob").stdout
    assert [e["kind"] for e in _audit(run_cli, tmp_path)] == ["user.created"]


def test_admin_and_none_cannot_be_granted_for_a_scope(run_cli: RunCli) -> None:
    assert run_cli("users", "add", "carl", "--role", "viewer", "--no-password").returncode == 0
    for role in ("admin", "none"):
        refused = run_cli("users", "grant", "carl", role, "--context", "prod")
        assert refused.returncode == 1, role
        assert "cannot be granted for a scope" in refused.stderr
    assert "no scoped grants" in run_cli("users", "show", "carl").stdout
