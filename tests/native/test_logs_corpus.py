"""The native `k8s_logs` prints exactly what the real kubectl prints, for every supported read.

Pods of the demo sandbox (a crash-looping `api`, a running `cache`), each read both ways and
compared byte for byte: tails, `since`, timestamps, a named container, the previous instance.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from opsgate.tools.base import ToolEnv
from opsgate.tools.command import Target
from opsgate.tools.kubectl import params as p
from opsgate.tools.kubectl import reads
from opsgate.tools.native import logs as native_logs
from tests.fixtures.sandbox import SandboxInfo, kubectl, tool_env_for

CASES: list[dict[str, Any]] = [
    {"app": "api", "tail": 3},
    {"app": "api", "tail": 200, "timestamps": True},
    {"app": "api", "previous": True},
    {"app": "api", "since": "1h"},
    {"app": "cache", "tail": 50, "container": "cache"},
    {"app": "cache", "since": "1h30m", "timestamps": True},
]


_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", re.MULTILINE)


def _stamped(text: str, timestamps: bool) -> str:
    # The sandbox stamps a crash-looping container's lines when they are read, so two reads
    # differ in those stamps alone; the server's text, not either printer's.
    return _STAMP.sub("<stamp> ", text) if timestamps else text


@pytest.fixture(scope="module")
def env(sandbox: SandboxInfo) -> ToolEnv:
    return tool_env_for(sandbox)


def _pod(sandbox: SandboxInfo, app: str) -> str:
    found = kubectl(sandbox, "get", "pods", "-n", "shop", "-l", f"app={app}", "-o", "name")
    return found.stdout.split()[0].removeprefix("pod/")


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
async def test_native_logs_print_what_kubectl_prints(
    env: ToolEnv, sandbox: SandboxInfo, case: dict[str, Any]
) -> None:
    args = {k: v for k, v in case.items() if k != "app"}
    params = p.LogsParams.model_validate(
        {"pod": _pod(sandbox, case["app"]), "namespace": "shop", **args}
    )
    target = Target.of(env, "kubectl", None)
    argv = reads.k8s_logs(params, target)
    spawned = await env.runner.run(argv, timeout_s=30)
    native = await native_logs.k8s_logs(params, env, target, argv)
    stamps = params.timestamps
    assert (native.exit_code, _stamped(native.stdout, stamps), native.stderr) == (
        spawned.exit_code,
        _stamped(spawned.stdout, stamps),
        spawned.stderr,
    )
    assert spawned.exit_code == 0
    assert spawned.stdout


def test_since_is_turned_into_seconds() -> None:
    assert native_logs.since_seconds("1h30m") == 5400
    assert native_logs.since_seconds("45s") == 45
