"""Fixtures of the kubectl tool tests that run the real bundled kubectl against the sandbox."""

from __future__ import annotations

import pytest

from opsgate.tools.base import ToolEnv
from tests.fixtures.sandbox import SandboxInfo, tool_env_for


@pytest.fixture(scope="module")
def tool_env(sandbox: SandboxInfo) -> ToolEnv:
    """A `ToolEnv` built as the server builds one, pointed at the session's sandbox."""
    return tool_env_for(sandbox)
