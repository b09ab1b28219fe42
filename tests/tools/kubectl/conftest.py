"""Fixtures of the kubectl tool tests that run the real bundled kubectl against the sandbox."""

from __future__ import annotations

import pytest

from opsgate.settings import Settings
from opsgate.tools import binaries
from opsgate.tools.base import ConfiguredJenkins, ToolEnv
from tests.fixtures.sandbox import SandboxInfo


@pytest.fixture(scope="module")
def tool_env(sandbox: SandboxInfo) -> ToolEnv:
    """A `ToolEnv` built as the server builds one, pointed at the session's sandbox."""
    settings = Settings(
        kubeconfig=sandbox.kubeconfig,
        default_context=sandbox.context,
        tools_dir=sandbox.kubectl.parent,
        command_timeout_s=30,
        data_dir=sandbox.home / "opsgate",
    )
    runner = binaries.runner_from_settings(
        settings,
        inherited={"PATH": "/usr/bin:/bin", "HOME": str(sandbox.home), "LANG": "C.UTF-8"},
    )
    return binaries.tool_env_from_settings(
        settings, runner, jenkins=ConfiguredJenkins(), search_path=""
    )
