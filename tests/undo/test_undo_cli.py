"""`opsgate undo CALL_ID` against a real `opsgate serve` on the sandbox: `--show` says what the
undo would be, the command submits it (it waits for approval), and once approved the change is
undone; a call that cannot be undone exits 1 saying why."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.cli import CliServer, serve_cli, workload
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NAMESPACE = "cli-undo"
SCRIPTS = [
    {
        "match": "(?i)scale api to 3$",
        "turns": [
            {
                "text": "Scaling.",
                "tool_calls": [
                    {
                        "name": "k8s_scale",
                        "args": {
                            "namespace": NAMESPACE,
                            "resource": "deployment/api",
                            "replicas": 3,
                        },
                    }
                ],
            },
            {"text": "Done."},
        ],
    }
]


@pytest.fixture(scope="module")
def server(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=workload(NAMESPACE, "api", "nginx:1.27"))
    assert applied.returncode == 0, applied.stderr
    with serve_cli(
        sandbox.kubeconfig,
        sandbox.context,
        tmp_path_factory.mktemp("cli-undo"),
        SCRIPTS,
        {"root": "admin", "ada": "approver", "oscar": "operator"},
    ) as running:
        yield running


def _replicas_become(sandbox: SandboxInfo, wanted: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        got = kubectl(
            sandbox, "get", "deployment", "api", "-n", NAMESPACE, "-o", "jsonpath={.spec.replicas}"
        )
        if got.stdout == str(wanted):
            return
        assert time.monotonic() < deadline, f"replicas stayed {got.stdout}, not {wanted}"
        time.sleep(0.5)


def _pending(server: CliServer) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        found = httpx.get(
            f"{server.url}/api/v1/approvals",
            params={"status": "pending"},
            headers={"Authorization": f"Bearer {server.tokens['ada']}"},
        ).json()["items"]
        if found:
            return list(found)
        assert time.monotonic() < deadline, "nothing waits for approval"
        time.sleep(0.5)


def test_undo_shows_submits_and_after_approval_undoes_the_change(
    server: CliServer, sandbox: SandboxInfo
) -> None:
    asked = server.run("ask", "scale api to 3", user="oscar")
    assert asked.returncode == 3, asked.stdout + asked.stderr
    approval_id = asked.stdout.split("awaiting approval:")[1].split()[0]
    approved = server.run("approvals", "approve", approval_id, user="ada")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    found = re.search(r"call ([0-9a-f-]{36})", approved.stdout)
    assert found is not None, approved.stdout
    call_id = found.group(1)
    _replicas_become(sandbox, 3)

    shown = server.run("undo", call_id, "--show", user="oscar")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"undo of k8s_scale call {call_id}: k8s_patch" in shown.stdout
    assert '{\\"spec\\":{\\"replicas\\":1}}' in shown.stdout
    assert _replicas_now(sandbox) == "3"

    submitted = server.run("undo", call_id, user="oscar")
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert "submitted as run" in submitted.stdout
    assert "waiting for approval" in submitted.stdout
    [waiting] = _pending(server)
    [item] = waiting["items"]
    assert item["tool"] == "k8s_patch"
    assert _replicas_now(sandbox) == "3"
    decided = server.run("approvals", "approve", waiting["id"], user="ada")
    assert decided.returncode == 0, decided.stdout + decided.stderr
    _replicas_become(sandbox, 1)


def test_undo_of_an_unknown_call_exits_1_saying_so(server: CliServer) -> None:
    done = server.run("undo", "no-such-call", user="oscar")
    assert done.returncode == 1
    assert "no-such-call" in done.stdout + done.stderr


def _replicas_now(sandbox: SandboxInfo) -> str:
    got = kubectl(
        sandbox, "get", "deployment", "api", "-n", NAMESPACE, "-o", "jsonpath={.spec.replicas}"
    )
    return got.stdout
