"""The native `k8s_get` prints exactly what the real kubectl prints, for every supported read.

Each case runs the same parameters both ways against the session's sandbox: kubectl from
`.tools/bin` through the real runner, and the native path through the pooled client, and
compares stdout, stderr and exit code byte for byte (after the same capping and redaction).
The server renders ages, so they differ only when its clock ticks over between the two reads:
a case passes when one of a few back-to-back rounds is identical, byte for byte. A case the
native path does not serve raises `NotNative` and fails: every case here is one it claims.
"""

from __future__ import annotations

from typing import Any

import pytest

from opsgate.tools.base import CommandResult, ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.kubectl import reads
from opsgate.tools.native import get as native_get
from tests.fixtures.sandbox import SandboxInfo, tool_env_for

FORMATS = ["table", "wide", "name", "json", "yaml"]

CASES: list[dict[str, Any]] = [
    *({"resource": "pods", "namespace": "shop", "output": f} for f in FORMATS),
    *({"resource": "pods", "all_namespaces": True, "output": f} for f in FORMATS),
    *({"resource": "deployments.apps", "namespace": "shop", "output": f} for f in FORMATS),
    *({"resource": "nodes", "output": f} for f in FORMATS),
    {"resource": "deploy/api", "namespace": "shop"},
    {"resource": "deployment", "name": "api", "namespace": "shop", "output": "wide"},
    {"resource": "deployment", "name": "api", "namespace": "shop", "output": "json"},
    {"resource": "deployment", "name": "api", "namespace": "shop", "output": "yaml"},
    {"resource": "deployment/api", "namespace": "shop", "output": "name"},
    {"resource": "pods", "namespace": "shop", "selector": "app=api"},
    {"resource": "pods", "namespace": "shop", "selector": "app in (api,cache)", "output": "wide"},
    {"resource": "pods", "namespace": "shop", "field_selector": "status.phase=Running"},
    {"resource": "pods", "all_namespaces": True, "selector": "app=web"},
    {"resource": "pods", "namespace": "shop", "selector": "app=nothing"},
    {"resource": "pods", "namespace": "shop", "selector": "app=nothing", "output": "name"},
    {"resource": "pods", "namespace": "shop", "selector": "app=nothing", "output": "json"},
    {"resource": "pods", "namespace": "shop", "selector": "app=nothing", "output": "yaml"},
    {"resource": "pods", "all_namespaces": True, "selector": "app=nothing"},
    {"resource": "nodes", "selector": "nothing=here"},
    {"resource": "pods"},
    {"resource": "po", "namespace": "kube-system"},
    {"resource": "pod", "name": "no-such-pod", "namespace": "shop"},
    {"resource": "deployment/no-such", "namespace": "shop", "output": "json"},
    {"resource": "svc", "namespace": "shop"},
    {"resource": "services", "all_namespaces": True, "output": "wide"},
    {"resource": "configmaps", "namespace": "shop"},
    {"resource": "configmaps", "namespace": "shop", "output": "json"},
    {"resource": "secrets", "namespace": "shop"},
    {"resource": "secrets", "namespace": "shop", "output": "yaml"},
    {"resource": "rs", "namespace": "shop", "output": "wide"},
    {"resource": "statefulsets", "all_namespaces": True},
    {"resource": "daemonsets", "all_namespaces": True, "output": "wide"},
    {"resource": "jobs", "all_namespaces": True},
    {"resource": "cronjobs", "all_namespaces": True, "output": "wide"},
    {"resource": "ingresses", "all_namespaces": True},
    {"resource": "pvc", "all_namespaces": True},
    {"resource": "namespaces"},
    {"resource": "nodes", "all_namespaces": True},
    {"resource": "namespaces", "all_namespaces": True, "output": "wide"},
    {"resource": "ns", "output": "name"},
    {"resource": "events", "namespace": "shop"},
    {"resource": "serviceaccounts", "namespace": "shop", "output": "yaml"},
    {"resource": "crd"},
    {"resource": "rollouts", "all_namespaces": True, "output": "wide"},
    {"resource": "clusterroles", "selector": "nothing=here"},
    {"resource": "endpoints", "namespace": "shop"},
]


def _case_id(case: dict[str, Any]) -> str:
    return "-".join(f"{key}={value}" for key, value in case.items())


@pytest.fixture(scope="module")
def env(sandbox: SandboxInfo) -> ToolEnv:
    built = tool_env_for(sandbox)
    assert built.api is not None, "the native path is on by default"
    return built


def _both(env: ToolEnv, params: p.GetParams) -> tuple[list[str], Target]:
    target = Target.of(env, "kubectl", params.context)
    return reads.k8s_get(params, target), target


def _triple(result: CommandResult) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", CASES, ids=_case_id)
async def test_native_get_prints_what_kubectl_prints(env: ToolEnv, case: dict[str, Any]) -> None:
    params = p.GetParams.model_validate(case)
    argv, target = _both(env, params)
    rounds = []
    for _ in range(3):
        spawned = _triple(await env.runner.run(argv, timeout_s=30))
        native = _triple(await native_get.k8s_get(params, env, target, argv))
        if native == spawned:
            return
        rounds.append((spawned, native))
    spawned, native = rounds[-1]
    assert native == spawned
