"""`opsgate approvals show|approve` against a real `opsgate serve` with a two-person policy
file: each approval prints what the policy still needs, and the change runs after the second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.cli import CliServer, serve_cli, workload
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NAMESPACE = "cli-policy"
POLICY = """rules:
  - id: two-people
    match: {tool: k8s_scale}
    require: {approvals: 2, approver_roles: approver}
"""
SCRIPTS = [
    {
        "match": "(?i)scale api to 4$",
        "turns": [
            {
                "text": "Proposing a scale.",
                "tool_calls": [
                    {
                        "name": "k8s_scale",
                        "args": {
                            "namespace": NAMESPACE,
                            "resource": "deployment/api",
                            "replicas": 4,
                        },
                    }
                ],
            },
            {"text": "Done deciding."},
        ],
    }
]


@pytest.fixture(scope="module")
def server(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=workload(NAMESPACE, "api", "nginx:1.27"))
    assert applied.returncode == 0, applied.stderr
    workdir = tmp_path_factory.mktemp("cli-policy")
    policy = Path(workdir / "policy.yaml")
    policy.write_text(POLICY)
    with serve_cli(
        sandbox.kubeconfig,
        sandbox.context,
        workdir,
        SCRIPTS,
        {"ada": "approver", "bob": "approver", "oscar": "operator"},
        OPSGATE_REQUIRE_DISTINCT_APPROVER="true",
        OPSGATE_POLICY_FILE=str(policy),
    ) as running:
        yield running


def _replicas(sandbox: SandboxInfo) -> int:
    got = kubectl(
        sandbox, "get", "deployment", "api", "-n", NAMESPACE, "-o", "jsonpath={.spec.replicas}"
    )
    return int(got.stdout)


def test_show_and_approve_print_the_policys_progress_and_the_second_approval_runs_it(
    server: CliServer, sandbox: SandboxInfo
) -> None:
    asked = server.run("ask", "scale api to 4", user="oscar")
    assert asked.returncode == 3, asked.stdout + asked.stderr
    approval_id = asked.stdout.split("awaiting approval:")[1].split()[0]
    shown = server.run("approvals", "show", approval_id, user="ada")
    assert shown.returncode == 0, shown.stderr
    assert (
        "policy 2 of 2 approvals from role approver needed; 0 given [rule two-people]"
        in shown.stdout
    )

    first = server.run("approvals", "approve", approval_id, user="ada")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "approval counted, not settled yet: k8s_scale deployment/api" in first.stdout
    assert "2 of 2 approvals from role approver needed; 1 given (ada)" in first.stdout
    assert not first.stdout.startswith("approved")
    assert _replicas(sandbox) != 4

    second = server.run("approvals", "approve", approval_id, user="bob")
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.startswith("approved k8s_scale deployment/api"), second.stdout
    deadline = time.monotonic() + 60
    while _replicas(sandbox) != 4:
        assert time.monotonic() < deadline, "the approved change did not run"
        time.sleep(0.5)
    after = server.run("approvals", "show", approval_id, user="ada").stdout
    assert "1 given" not in after
    assert "2 given (ada, bob)" in after
