"""`opsgate local-login`: the break-glass switch for password sign-in, on the database."""

from __future__ import annotations

from tests.fixtures.cli import RunCli

SSO = {"OPSGATE_OIDC__ISSUER": "https://idp.example", "OPSGATE_OIDC__CLIENT_ID": "opsgate"}


def test_local_login_cannot_be_turned_off_without_single_sign_on(run_cli: RunCli) -> None:
    refused = run_cli("local-login", "off")
    assert refused.returncode != 0
    assert "local sign-in stays on until single sign-on" in refused.stderr + refused.stdout
    assert "is on" in run_cli("local-login", "status").stdout


def test_off_with_single_sign_on_then_on_again_breaks_the_glass(run_cli: RunCli) -> None:
    off = run_cli("local-login", "off", env=SSO)
    assert off.returncode == 0, off.stderr
    assert "is now off" in off.stdout
    assert "is off" in run_cli("local-login", "status").stdout
    # The way back needs no identity provider at all.
    on = run_cli("local-login", "on")
    assert on.returncode == 0, on.stderr
    assert "is on" in run_cli("local-login", "status").stdout
    exported = run_cli("audit", "export", "--format", "jsonl")
    kinds = [line for line in exported.stdout.splitlines() if "settings.local_login" in line]
    assert len(kinds) == 2, exported.stdout + exported.stderr
