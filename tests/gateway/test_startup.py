"""`opsgate mcp` refuses to start, with the reason, when it cannot tell who is calling."""

from __future__ import annotations

from tests.fixtures.cli import RunCli


def test_stdio_without_a_configured_user_exits_with_the_reason(run_cli: RunCli) -> None:
    result = run_cli("mcp", input="")
    assert result.returncode == 1
    assert "OPSGATE_MCP_USER must name the opsgate user" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # stdout is the MCP channel


def test_stdio_with_an_unknown_user_exits_with_the_reason(run_cli: RunCli) -> None:
    result = run_cli("mcp", input="", env={"OPSGATE_MCP_USER": "nobody"})
    assert result.returncode == 1
    assert "OPSGATE_MCP_USER 'nobody' is not an opsgate user" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_shows_client_configs_for_stdio_and_http(run_cli: RunCli) -> None:
    result = run_cli("mcp", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert '"command": "opsgate", "args": ["mcp"]' in text
    assert '"OPSGATE_MCP_USER": "alice"' in text
    assert '"url": "http://127.0.0.1:8765/mcp"' in text
    assert '"Authorization": "Bearer og_..."' in text
