"""Fixtures of the helm tool tests that run the real bundled helm against the sandbox."""

from __future__ import annotations

import os

import pytest

from opsgate.tools.base import ToolEnv
from opsgate.tools.runner import SubprocessRunner, child_env
from tests.fixtures.sandbox import SandboxInfo


@pytest.fixture(scope="module")
def helm_env(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> ToolEnv:
    """The real runner with the bundled helm and kubectl, a private helm home, the sandbox."""
    base = child_env({**os.environ, "HOME": str(sandbox.home)})
    return ToolEnv(
        runner=SubprocessRunner(env=base, timeout_s=60),
        kubectl=sandbox.kubectl,
        helm=sandbox.helm,
        kubeconfig=sandbox.kubeconfig,
        default_context=sandbox.context,
        helm_home=tmp_path_factory.mktemp("helm-home"),
    )
