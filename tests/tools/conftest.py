"""Fixtures shared by the tool tests that drive the sandbox through the real MCP server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.tools import registry
from opsgate.tools.base import ToolEnv
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.mcp import MemorySpentApprovals
from tests.fixtures.sandbox import SandboxInfo

SERVED_KEY = b"tools-sandbox-approval-key-0123456789"


@pytest.fixture
def cluster_env(sandbox: SandboxInfo, tmp_path: Path) -> ToolEnv:
    """The real runner and the bundled binaries, pointed at the session's sandbox."""
    return ToolEnv(
        runner=SubprocessRunner(env=child_env({**os.environ, "HOME": str(sandbox.home)})),
        kubectl=sandbox.kubectl,
        helm=sandbox.helm,
        kubeconfig=sandbox.kubeconfig,
        default_context=sandbox.context,
        command_timeout_s=30.0,
        helm_home=tmp_path / "helm",
    )


@pytest.fixture
async def served(cluster_env: ToolEnv) -> AsyncIterator[ToolClient]:
    """Every registered tool behind the real MCP server, through the engine's own client."""
    server = create_server(
        cluster_env, registry.all_tools(), SERVED_KEY, spent=MemorySpentApprovals()
    )
    async with ToolClient.in_memory(server) as client:
        yield client
