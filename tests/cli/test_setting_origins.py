"""A `.env` file in the working directory never changes a security setting unseen: the servers
warn at start (one line per setting, on stderr) and `opsgate doctor` says where each came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.cli import RunCli

APPROVAL_KEY = "approval-key-from-a-dotenv-file-0123456789"
SECRET_KEY = "secret-key-from-the-environment-0123456789"


def write_env_file(directory: Path) -> Path:
    env_file = directory / ".env"
    env_file.write_text(
        f"OPSGATE_APPROVAL_KEY={APPROVAL_KEY}\n"
        "OPSGATE_REQUIRE_DISTINCT_APPROVER=false\n"
        "OPSGATE_MODEL=openai/gpt-4.1\n"
    )
    return env_file


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]


@pytest.mark.parametrize("command", [["mcp"], ["serve", "--port", "1"]], ids=["mcp", "serve"])
def test_servers_warn_once_per_security_setting_from_the_env_file(
    run_cli: RunCli, tmp_path: Path, command: list[str]
) -> None:
    env_file = write_env_file(tmp_path)
    # A short secret key stops `serve` right after the warnings, before it listens.
    short = {"OPSGATE_SECRET_KEY": "short"} if command[0] == "serve" else {}
    result = run_cli(*command, env=short, input="")
    warnings = warning_lines(result.stderr)
    assert [line.split()[1] for line in warnings] == [
        "OPSGATE_APPROVAL_KEY",
        "OPSGATE_REQUIRE_DISTINCT_APPROVER",
    ], result.stderr
    assert all(f"comes from the .env file {env_file}" in line for line in warnings)
    assert APPROVAL_KEY not in result.stdout + result.stderr
    assert "warning:" not in result.stdout


def test_doctor_says_where_each_security_setting_came_from(run_cli: RunCli, tmp_path: Path) -> None:
    env_file = write_env_file(tmp_path)
    result = run_cli("doctor", env={"OPSGATE_SECRET_KEY": SECRET_KEY})
    out = result.stdout
    assert f"ok   setting approval_key: .env file {env_file} (OPSGATE_APPROVAL_KEY)" in out
    assert "a .env file in the working directory sets OPSGATE_APPROVAL_KEY" in out
    assert "ok   setting secret_key: environment (OPSGATE_SECRET_KEY)" in out
    assert (
        f"ok   setting require_distinct_approver: off (self-approval allowed); .env file {env_file}"
    ) in out
    assert "ok   setting database_url: default" in out
    assert APPROVAL_KEY not in out + result.stderr
    assert SECRET_KEY not in out + result.stderr


def test_doctor_names_generated_key_files_and_refuses_a_short_one(
    run_cli: RunCli, tmp_path: Path
) -> None:
    keys = tmp_path / "data" / "keys"
    keys.mkdir(parents=True)
    (keys / "approval_key").write_text("too-short\n")
    result = run_cli("doctor")
    assert f"FAIL setting approval_key: generated key file {keys / 'approval_key'}" in result.stdout
    assert "holds 9 bytes; a key must hold at least 32 bytes" in result.stdout
    assert f"ok   setting secret_key: generated key file {keys / 'secret_key'}" in result.stdout
    assert "ok   setting require_distinct_approver: on; default" in result.stdout
    assert result.returncode == 1
