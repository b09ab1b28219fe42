"""The exact command an approved call will run, as its approval card shows it: argv joined for
display, secret values masked, private temp files named by a placeholder. Nothing runs here."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from opsgate.tools import registry
from opsgate.tools.command import FILE_PLACEHOLDER
from opsgate.tools.redact import REDACTED
from tests.tools.fakes import ScriptedRunner, env_with

TOOLS = registry.all_tools()
KUBECTL = "/opt/kubectl --kubeconfig /cfg/kubeconfig --context demo"
HELM = "/opt/helm --kubeconfig /cfg/kubeconfig --kube-context demo"


async def _command(name: str, args: dict[str, Any]) -> str:
    tool = TOOLS[name]
    assert tool.command is not None
    runner = ScriptedRunner()
    shown = await tool.command(tool.parse(args), env_with(runner))
    assert runner.calls == []  # rendering a kubectl or helm command runs nothing
    return shown


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        (
            "k8s_scale",
            {"resource": "deployment/frontend", "namespace": "shop", "replicas": 5},
            f"{KUBECTL} scale deployment/frontend --namespace shop --replicas=5",
        ),
        (
            "k8s_apply",
            {"manifest": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
            f"{KUBECTL} apply --filename - < manifest",
        ),
        (
            "k8s_exec",
            {"pod": "web-1", "command": ["ls", "-la", "/var/lib/my data"]},
            f"{KUBECTL} exec web-1 -- ls -la '/var/lib/my data'",
        ),
        (
            "helm_rollback",
            {"release": "cache", "namespace": "shop", "revision": 2},
            f"{HELM} rollback cache 2 --namespace shop --timeout 300s",
        ),
    ],
)
async def test_the_command_is_the_argv_joined_for_a_shell_reader(
    name: str, args: dict[str, Any], expected: str
) -> None:
    assert await _command(name, args) == expected


async def test_secret_values_in_a_patch_are_masked() -> None:
    shown = await _command(
        "k8s_patch",
        {"resource": "secret/db", "patch": '{"stringData": {"password": "hunter2"}}'},
    )
    assert "hunter2" not in shown
    assert REDACTED in shown


async def test_helm_values_file_is_a_placeholder_and_secret_sets_are_masked() -> None:
    shown = await _command(
        "helm_upgrade",
        {
            "release": "web",
            "chart": "stable/web",
            "values_yaml": "replicaCount: 2\n",
            "set": {"db.password": "hunter2", "image.tag": "1.27"},
        },
    )
    argv = shlex.split(shown)
    assert argv[argv.index("--values") + 1] == FILE_PLACEHOLDER
    assert "hunter2" not in shown
    assert f"db.password={REDACTED}" in argv
    assert "image.tag=1.27" in argv
