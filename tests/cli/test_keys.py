"""Every command that reads a key refuses an empty or short one, naming the setting."""

from __future__ import annotations

import pytest

from opsgate.settings import MIN_KEY_BYTES
from tests.fixtures.cli import RunCli


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        (["users", "list"], "OPSGATE_SECRET_KEY"),
        (["mcp"], "OPSGATE_APPROVAL_KEY"),
        (["mcp", "--http"], "OPSGATE_APPROVAL_KEY"),
        (["serve", "--port", "1"], "OPSGATE_APPROVAL_KEY"),
        (["serve", "--port", "1"], "OPSGATE_SECRET_KEY"),
    ],
)
@pytest.mark.parametrize("value", ["", "short-key"])
def test_a_command_refuses_to_start_with_an_empty_or_short_key(
    run_cli: RunCli, command: list[str], variable: str, value: str
) -> None:
    token = "a-strong-enough-bearer-token-0123456789-XYZ"
    result = run_cli(*command, env={variable: value, "OPSGATE_MCP_HTTP_TOKEN": token}, input="")
    assert result.returncode == 1, result.stdout + result.stderr
    assert variable in result.stderr
    assert f"at least {MIN_KEY_BYTES} bytes" in result.stderr
    assert "Traceback" not in result.stderr
