"""`opsgate approvals list|show|approve|reject` against a real `opsgate serve` with the
distinct-approver rule on: an operator proposes through `ask`, an approver decides from the
command line, and the proposer is told and refused.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.cli import CliServer, serve_cli, workload
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NAMESPACE = "cli-approvals"
WORKLOAD = workload(NAMESPACE, "api", "nginx:1.27", configmap="old")


def one_change(match: str, tool: str, **args: Any) -> dict[str, Any]:
    return {
        "match": match,
        "turns": [
            {
                "text": f"Proposing {tool}.",
                "tool_calls": [{"name": tool, "args": {"namespace": NAMESPACE, **args}}],
            },
            {"text": "Done deciding."},
        ],
    }


SCRIPTS = [
    one_change(f"(?i)scale api to {n}$", "k8s_scale", resource="deployment/api", replicas=n)
    for n in (3, 5, 6)
] + [
    one_change(f"(?i)delete the old config {n}$", "k8s_delete", resource="configmap", name="old")
    for n in (1, 2)
]


@pytest.fixture(scope="module")
def server(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=WORKLOAD)
    assert applied.returncode == 0, applied.stderr
    with serve_cli(
        sandbox.kubeconfig,
        sandbox.context,
        tmp_path_factory.mktemp("cli-approvals"),
        SCRIPTS,
        {"root": "admin", "ada": "approver", "oscar": "operator"},
        OPSGATE_REQUIRE_DISTINCT_APPROVER="true",
    ) as running:
        yield running


def propose(server: CliServer, text: str, user: str = "oscar") -> str:
    done = server.run("ask", text, user=user)
    assert done.returncode == 3, done.stdout + done.stderr
    return done.stdout.split("awaiting approval:")[1].split()[0]


def replicas(sandbox: SandboxInfo) -> int:
    got = kubectl(
        sandbox, "get", "deployment", "api", "-n", NAMESPACE, "-o", "jsonpath={.spec.replicas}"
    )
    return int(got.stdout)


def test_approvals_list_and_show_give_what_an_approver_decides_on(server: CliServer) -> None:
    approval_id = propose(server, "delete the old config 1")
    done = server.run("approvals", "list", user="ada")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if approval_id in line)
    assert "k8s_delete configmap/old" in row
    assert f"{NAMESPACE}" in row
    assert "opsgate-sandbox" in row
    assert "oscar" in row
    assert "DESTRUCTIVE" in row
    shown = server.run("approvals", "show", approval_id, user="ada")
    assert shown.returncode == 0, shown.stderr
    listed = shown.stdout
    assert "proposed by oscar · expires " in listed
    assert re.search(r"expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in 1[45] min", listed)
    assert (
        f"DESTRUCTIVE k8s_delete configmap/old ({NAMESPACE})  pending · call awaiting approval"
        in listed
    )
    assert f"namespace {NAMESPACE} · context opsgate-sandbox · cluster http://127.0.0.1:" in listed
    assert "the dry run found changes" in listed
    assert "    command " in listed
    assert 'name: "old"' in listed
    assert "you proposed this change" not in listed
    mine = server.run("approvals", "show", approval_id, user="oscar").stdout
    assert "you proposed this change" in mine


def test_approvals_approve_prints_the_calls_own_outcome(
    server: CliServer, sandbox: SandboxInfo
) -> None:
    approval_id = propose(server, "scale api to 3")
    done = server.run("approvals", "approve", approval_id, user="ada")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        rf"^approved k8s_scale deployment/api \({NAMESPACE}\) by ada · call "
        r"(approved|running|succeeded|verified|not verified)  call [0-9a-f-]+, approval "
        + approval_id,
        done.stdout,
        re.MULTILINE,
    ), done.stdout
    assert "rejected" not in done.stdout
    deadline = time.monotonic() + 60
    while replicas(sandbox) != 3:
        assert time.monotonic() < deadline, "the approved change did not run"
        time.sleep(0.5)


def test_a_destructive_approval_without_a_reason_is_refused_and_a_rejection_recorded(
    server: CliServer,
) -> None:
    approval_id = propose(server, "delete the old config 2")
    refused = server.run("approvals", "approve", approval_id, user="ada")
    assert refused.returncode == 1
    assert "approving a destructive change needs a reason" in refused.stderr
    rejected = server.run(
        "approvals", "reject", approval_id, "--reason", "keep it for now", user="ada"
    )
    assert rejected.returncode == 0, rejected.stderr
    assert rejected.stdout.startswith(
        f"rejected k8s_delete configmap/old ({NAMESPACE}) by ada · call rejected"
    ), rejected.stdout


def test_the_proposer_may_not_approve_their_own_change_and_is_told_why(
    server: CliServer, sandbox: SandboxInfo
) -> None:
    approval_id = propose(server, "scale api to 5", user="root")
    done = server.run("approvals", "approve", approval_id, user="root")
    assert done.returncode == 1
    assert "the requester of a change may not approve it" in done.stderr
    assert replicas(sandbox) != 5


def test_chat_tells_the_proposer_and_does_not_take_their_approval(
    server: CliServer, sandbox: SandboxInfo
) -> None:
    child = server.spawn("chat", user="root")
    try:
        child.expect("you> ")
        child.sendline("scale api to 6")
        child.expect("you proposed this change")
        told = [
            re.escape("this server requires a different approver (require_distinct_approver)"),
            re.escape("[a]pprove [r]eject [s]kip [d]iff [?]help: "),
        ]
        if child.expect(told) == 1:
            # A server that does not report its policy: the refusal comes with its reason.
            child.sendline("a")
            child.expect(
                re.escape("the server refused the decision: 403: the requester of a change")
            )
        child.expect("following the run")
        assert replicas(sandbox) != 6
    finally:
        child.close(force=True)
    waiting = [i for a in server.pending() for i in a["items"] if i["args"].get("replicas") == 6]
    assert [item["status"] for item in waiting] == ["pending"]
