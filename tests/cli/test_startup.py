"""The CLI starts fast: help imports only what help needs (bench/cli_start.py times it).

Each check runs in a fresh interpreter and reads `sys.modules` after the help printed, so it
proves what was imported, not how long it took on this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from opsgate.cli import main

HEAVY = ("opsgate.api", "opsgate.store", "opsgate.tools", "opsgate.engine", "opsgate.mcp")
HEAVY += ("opsgate.settings", "httpx", "sqlalchemy", "fastapi", "yaml", "litellm")

_PROBE = """
import json, sys
from opsgate.cli.main import app
try:
    app(sys.argv[1:] + ["--help"])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _imported_by_help(*command: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *command], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_the_top_level_help_imports_no_command_module() -> None:
    loaded = _imported_by_help()
    assert [m for m in loaded if m.startswith("opsgate.cli.") and m != "opsgate.cli.main"] == []
    assert [m for m in loaded if m.startswith(HEAVY)] == []


@pytest.mark.parametrize(
    "command",
    [
        ("approvals", "list"),
        ("chat",),
        ("ask",),
        ("audit", "verify"),
        ("users", "add"),
        ("tokens", "create"),
        ("serve",),
        ("sandbox", "up"),
        ("tools", "list"),
        ("doctor",),
    ],
)
def test_a_commands_help_imports_nothing_it_only_needs_to_run(command: tuple[str, ...]) -> None:
    loaded = _imported_by_help(*command)
    assert [m for m in loaded if m.startswith(HEAVY)] == []


def test_every_listed_command_loads_under_its_name() -> None:
    for name in main.COMMANDS:
        command = main.load(name)
        assert command.name == name
