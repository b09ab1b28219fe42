"""Locating kubectl/helm and building the `ToolEnv` from settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from opsgate.errors import BinaryNotFound
from opsgate.settings import PROJECT_ROOT, Settings
from opsgate.tools import binaries
from opsgate.tools.base import ConfiguredJenkins
from opsgate.tools.runner import SubprocessRunner


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/true\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_project_tools_dir_wins_over_usr_bin() -> None:
    tools_dir = PROJECT_ROOT / ".tools" / "bin"
    if not (tools_dir / "kubectl").exists():
        pytest.skip("`make setup` has not installed .tools/bin/kubectl")
    found = binaries.find_binary(
        "kubectl", configured=None, tools_dir=tools_dir, search_path="/usr/bin:/bin"
    )
    assert found == tools_dir / "kubectl"
    assert found != Path("/usr/bin/kubectl")


def test_configured_path_wins(tmp_path: Path) -> None:
    configured = _executable(tmp_path / "custom" / "kubectl")
    tools = _executable(tmp_path / "tools" / "kubectl")
    found = binaries.find_binary(
        "kubectl", configured=configured, tools_dir=tools.parent, search_path=None
    )
    assert found == configured


def test_path_is_the_last_resort(tmp_path: Path) -> None:
    on_path = _executable(tmp_path / "bin" / "helm")
    found = binaries.find_binary(
        "helm", configured=None, tools_dir=tmp_path / "empty", search_path=str(on_path.parent)
    )
    assert found == on_path


def test_missing_binary_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(BinaryNotFound, match="make setup"):
        binaries.find_binary("helm", configured=None, tools_dir=tmp_path, search_path=str(tmp_path))


def test_a_configured_path_that_is_not_executable_is_an_error(tmp_path: Path) -> None:
    plain = tmp_path / "kubectl"
    plain.write_text("")
    with pytest.raises(BinaryNotFound, match="OPSGATE_KUBECTL_PATH"):
        binaries.find_binary("kubectl", configured=plain, tools_dir=None, search_path=None)


def test_tool_env_from_settings(tmp_path: Path) -> None:
    kubectl = _executable(tmp_path / "bin" / "kubectl")
    helm = _executable(tmp_path / "bin" / "helm")
    settings = Settings(
        tools_dir=tmp_path / "bin",
        kubeconfig=tmp_path / "kubeconfig",
        default_context="demo",
        command_timeout_s=5,
        output_cap_bytes=1000,
        data_dir=tmp_path / "data",
    )
    runner = binaries.runner_from_settings(
        settings, inherited={"PATH": "/usr/bin", "SECRET_TOKEN": "x"}
    )
    env = binaries.tool_env_from_settings(
        settings, runner, jenkins=ConfiguredJenkins(), search_path=""
    )
    assert (env.kubectl, env.helm) == (kubectl, helm)
    assert env.kubeconfig == tmp_path / "kubeconfig"
    assert env.default_context == "demo"
    assert (env.command_timeout_s, env.output_cap_bytes) == (5, 1000)
    assert isinstance(env.runner, SubprocessRunner)
    assert dict(env.runner.env) == {"PATH": "/usr/bin"}
    assert env.runner.timeout_s == 5
