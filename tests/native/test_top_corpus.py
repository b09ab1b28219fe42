"""The native `k8s_top_pods` prints exactly what the real `kubectl top pod` prints.

Each case runs the same parameters both ways against the session's sandbox (kubectl from
`.tools/bin` through the real runner; the native path through the pooled client) and
compares stdout, stderr and exit code byte for byte. The sandbox computes usage from its
clock, so a case passes when one of a few back-to-back rounds is identical. A case the native
path does not serve raises `NotNative` and fails. Quantities are checked on their own below.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from opsgate.errors import NotNative
from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.kubectl import reads
from opsgate.tools.native import top as native_top
from tests.fixtures.sandbox import SandboxInfo, tool_env_for

CASES: list[dict[str, Any]] = [
    {"namespace": "shop"},
    {"namespace": "shop", "containers": True},
    {"namespace": "shop", "selector": "app=api"},
    {"all_namespaces": True},
    {"all_namespaces": True, "containers": True},
    {"all_namespaces": True, "selector": "app=api"},
    {"namespace": "shop", "selector": "app in (api,cache)", "containers": True},
]


def _case_id(case: dict[str, Any]) -> str:
    return "-".join(f"{key}={value}" for key, value in case.items()) or "default"


@pytest.fixture(scope="module")
def env(sandbox: SandboxInfo) -> ToolEnv:
    built = tool_env_for(sandbox)
    assert built.api is not None, "the native path is on by default"
    return built


def _triple(result: CommandResult) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_native_top_pods_prints_what_kubectl_prints(
    env: ToolEnv, case: dict[str, Any]
) -> None:
    params = p.TopPodsParams.model_validate(case)
    target = Target.of(env, "kubectl", params.context)
    argv = reads.k8s_top_pods(params, target)
    rounds = []
    for _ in range(3):
        spawned = _triple(await env.runner.run(argv, timeout_s=30))
        native = _triple(await native_top.k8s_top_pods(params, env, target, argv))
        if native == spawned:
            assert native[1].count("\n") > 1, "the case prints at least one pod"
            return
        rounds.append((spawned, native))
    spawned, native = rounds[-1]
    assert native == spawned


NODE_CASES: list[dict[str, Any]] = [{}, {"selector": "kubernetes.io/os=linux"}]


@pytest.mark.parametrize("case", NODE_CASES, ids=_case_id)
async def test_native_top_nodes_prints_what_kubectl_prints(
    env: ToolEnv, case: dict[str, Any]
) -> None:
    params = p.TopNodesParams.model_validate(case)
    target = Target.of(env, "kubectl", params.context)
    argv = reads.k8s_top_nodes(params, target)
    rounds = []
    for _ in range(3):
        spawned = _triple(await env.runner.run(argv, timeout_s=30))
        native = _triple(await native_top.k8s_top_nodes(params, env, target, argv))
        if native == spawned:
            assert native[1].count("\n") > 1, "the case prints at least one node"
            return
        rounds.append((spawned, native))
    spawned, native = rounds[-1]
    assert native == spawned


def test_a_node_without_metrics_is_left_to_kubectl() -> None:
    metrics = [{"metadata": {"name": "n1"}, "usage": {"cpu": "1", "memory": "1Gi"}}]
    allocatable = {name: {"cpu": "4", "memory": "8Gi"} for name in ("n1", "n2")}
    with pytest.raises(NotNative, match="nodes without metrics"):
        native_top.node_table(metrics, allocatable)
    text = native_top.node_table(metrics, {"n1": allocatable["n1"]})
    assert text.splitlines()[1].split() == ["n1", "1000m", "25%", "1024Mi", "12%"]


async def test_no_metrics_are_left_to_kubectl(env: ToolEnv) -> None:
    params = p.TopPodsParams(namespace="shop", selector="app=nothing")
    target = Target.of(env, "kubectl", None)
    with pytest.raises(NotNative, match="no pod metrics"):
        await native_top.k8s_top_pods(params, env, target, reads.k8s_top_pods(params, target))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("123456n", Fraction(123456, 10**9)),
        ("250m", Fraction(1, 4)),
        ("2", Fraction(2)),
        ("1.5Gi", Fraction(3 * 1024**3, 2)),
        ("3Mi", Fraction(3 * 1024**2)),
        ("12k", Fraction(12000)),
        ("1e3", Fraction(1000)),
    ],
)
def test_quantities_are_read_exactly(text: str, value: Fraction) -> None:
    assert native_top.quantity(text) == value


@pytest.mark.parametrize("text", ["-1", "12Xi", "", "m"])
def test_a_quantity_it_cannot_read_is_left_to_kubectl(text: str) -> None:
    with pytest.raises(NotNative):
        native_top.quantity(text)


def test_usage_rounds_up_to_millicores_and_down_to_mebibytes() -> None:
    pod = {
        "metadata": {"name": "web", "namespace": "shop"},
        "containers": [
            {"name": "a", "usage": {"cpu": "1000001n", "memory": "1048575"}},
            {"name": "b", "usage": {"cpu": "1m", "memory": "2"}},
        ],
    }
    text = native_top.table([pod], across=False, containers=False)
    assert text.splitlines()[1].split() == ["web", "3m", "1Mi"]
