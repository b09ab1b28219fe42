"""Every command the README shows exists and answers `--help` (with an example)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.cli import RunCli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def code_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]


def opsgate_commands() -> list[tuple[str, ...]]:
    commands: set[tuple[str, ...]] = set()
    for line in code_lines():
        words = line.split()
        if not words or words[0] != "opsgate":
            continue
        path: list[str] = []
        for word in words[1:3]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            path.append(word)
        commands.add(tuple(path))
    return sorted(commands)


def make_targets() -> list[str]:
    return sorted({line.split()[1] for line in code_lines() if line.startswith("make ")})


def test_the_readme_opens_with_make_run_and_make_test() -> None:
    first_block = code_lines()[:2]
    assert first_block[0].startswith("make run")
    assert first_block[1].startswith("make test")


@pytest.mark.parametrize("command", opsgate_commands(), ids=" ".join)
def test_readme_command_answers_help_with_an_example(
    run_cli: RunCli, command: tuple[str, ...]
) -> None:
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    leaf_is_group = "Commands" in result.stdout
    if not leaf_is_group:
        assert "Example" in result.stdout


@pytest.mark.parametrize("target", make_targets())
def test_readme_make_target_exists(target: str) -> None:
    result = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
