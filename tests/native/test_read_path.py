"""Which path a `k8s_get` takes, and that the call's result says so, through the real MCP server.

The tool server is built as production builds it (`tool_env_for`: settings, the real runner,
the native pool) and called through the engine's in-memory MCP client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from opsgate.mcp.client import ToolClient
from opsgate.mcp.server import create_server
from opsgate.settings import Settings
from opsgate.tools import binaries, registry
from opsgate.tools.base import ConfiguredJenkins, ToolEnv
from tests.fixtures.mcp import MemorySpentApprovals
from tests.fixtures.sandbox import SandboxInfo, kubectl, tool_env_for

KEY = b"native-read-path-approval-key-0123456789"


async def _client(env: ToolEnv) -> AsyncIterator[ToolClient]:
    server = create_server(env, registry.all_tools(), KEY, spent=MemorySpentApprovals())
    async with ToolClient.in_memory(server) as client:
        yield client


@pytest.fixture
async def served(sandbox: SandboxInfo) -> AsyncIterator[ToolClient]:
    async for client in _client(tool_env_for(sandbox)):
        yield client


async def test_a_supported_read_runs_native_and_says_so(
    served: ToolClient, sandbox: SandboxInfo
) -> None:
    result = await served.call("k8s_get", {"resource": "deployments", "namespace": "shop"})
    assert result.ok
    assert result.data == {"read_path": "native"}
    spawned = kubectl(sandbox, "get", "deployments", "--namespace", "shop")
    assert result.text == spawned.stdout.rstrip("\n")
    assert result.exit_code == 0
    assert result.command is not None
    assert " get deployments --namespace shop" in result.command


async def test_a_jsonpath_read_falls_back_to_kubectl_and_says_why(served: ToolClient) -> None:
    result = await served.call(
        "k8s_get",
        {"resource": "deployments", "namespace": "shop", "jsonpath": "{.items[*].metadata.name}"},
    )
    assert result.ok
    assert result.data == {
        "read_path": "kubectl",
        "reason": "JSONPath templates are printed by kubectl",
    }
    assert result.text.split() == ["api", "cache", "frontend", "worker"]


async def test_a_name_across_namespaces_falls_back_and_kubectl_words_the_error(
    served: ToolClient, sandbox: SandboxInfo
) -> None:
    result = await served.call(
        "k8s_get", {"resource": "pods", "name": "web", "all_namespaces": True}
    )
    assert result.data["read_path"] == "kubectl"
    spawned = kubectl(sandbox, "get", "pods", "web", "--all-namespaces")
    assert not result.ok
    assert spawned.returncode == result.exit_code == 1
    assert spawned.stderr.strip() in result.text


def _env_from(sandbox: SandboxInfo, **overrides: object) -> ToolEnv:
    settings = Settings(
        kubeconfig=sandbox.kubeconfig,
        default_context=sandbox.context,
        tools_dir=sandbox.kubectl.parent,
        data_dir=sandbox.home / "opsgate",
        **overrides,  # type: ignore[arg-type]
    )
    runner = binaries.runner_from_settings(settings, inherited={"HOME": str(sandbox.home)})
    return binaries.tool_env_from_settings(
        settings, runner, jenkins=ConfiguredJenkins(), search_path=""
    )


async def test_native_reads_off_runs_kubectl(sandbox: SandboxInfo) -> None:
    env = _env_from(sandbox, native_reads=False)
    assert env.api is None
    async for client in _client(env):
        result = await client.call("k8s_get", {"resource": "pods", "namespace": "shop"})
        assert result.ok
        assert result.data["read_path"] == "kubectl"
        assert "OPSGATE_NATIVE_READS=false" in result.data["reason"]


def test_the_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSGATE_NATIVE_READS", "false")
    assert Settings().native_reads is False
    monkeypatch.delenv("OPSGATE_NATIVE_READS")
    assert Settings().native_reads is True


@pytest.mark.parametrize("cap", [300, 64 * 1024])
async def test_native_output_is_capped_and_redacted_as_kubectls(
    sandbox: SandboxInfo, cap: int
) -> None:
    args = {"resource": "secrets", "namespace": "shop", "output": "yaml"}
    results = []
    for native_reads in (True, False):
        async for client in _client(
            _env_from(sandbox, output_cap_bytes=cap, native_reads=native_reads)
        ):
            results.append(await client.call("k8s_get", args))
    native, spawned = results
    assert native.data == {"read_path": "native"}
    assert spawned.data["read_path"] == "kubectl"
    assert native.text == spawned.text
    assert native.truncated == spawned.truncated == (cap == 300)
    assert "**REDACTED**" in native.text


async def test_logs_of_a_workload_fall_back_to_kubectl_and_say_why(served: ToolClient) -> None:
    result = await served.call(
        "k8s_logs", {"pod": "deployment/cache", "namespace": "shop", "tail": 5}
    )
    assert result.ok
    assert result.data == {
        "read_path": "kubectl",
        "reason": "a workload reference, which kubectl resolves to one of its pods",
    }


async def test_logs_of_a_pod_run_native(served: ToolClient, sandbox: SandboxInfo) -> None:
    pod = kubectl(sandbox, "get", "pods", "-n", "shop", "-l", "app=cache", "-o", "name")
    name = pod.stdout.split()[0].removeprefix("pod/")
    result = await served.call("k8s_logs", {"pod": name, "namespace": "shop", "tail": 5})
    assert result.ok
    assert result.data == {"read_path": "native"}
    spawned = kubectl(sandbox, "logs", name, "--namespace", "shop", "--tail=5")
    assert result.text == spawned.stdout.rstrip("\n")
