"""`opsgate chat` and `opsgate ask` against a real `opsgate serve`, as a user runs them.

The server runs the scripted model against the sandbox with the real kubectl; the approval
prompt is answered through a pseudo-terminal, and what the cluster then holds is read back
with kubectl, so each test sees what a decision really did.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pexpect
import pytest

from opsgate.domain.roles import Role
from tests.fixtures.cli import CliServer, Grant, serve_cli, workload
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NAMESPACE = "cli-demo"
WORKLOAD = workload(NAMESPACE, "web", "nginx:1.27", configmap="doomed")
PROMPT = re.escape("[a]pprove [r]eject [s]kip [d]iff [?]help: ")


def call(tool: str, **args: Any) -> dict[str, Any]:
    return {"name": tool, "args": {"namespace": NAMESPACE, **args}}


def scale_script(replicas: int, last: str | None = None) -> dict[str, Any]:
    return {
        "match": f"(?i)scale web to {replicas}$",
        "turns": [
            {
                "text": "Checking the web deployment first.",
                "tool_calls": [call("k8s_get", resource="deployments", name="web")],
            },
            {
                "text": f"Scaling web to {replicas}.",
                "tool_calls": [call("k8s_scale", resource="deployment/web", replicas=replicas)],
            },
            {"text": last or f"web now runs {replicas} replicas; the rollout finished."},
        ],
    }


SCRIPTS = [
    scale_script(2),
    scale_script(3),
    scale_script(4),
    scale_script(5, "I did not scale web."),
    scale_script(7, "I did not scale web."),
    scale_script(8, "I did not scale web."),
    {
        "match": "(?i)delete the doomed config",
        "turns": [
            {
                "text": "Deleting the doomed ConfigMap.",
                "tool_calls": [call("k8s_delete", resource="configmap", name="doomed")],
            },
            {"text": "The ConfigMap is gone."},
        ],
    },
    {
        "match": "(?i)scale ghost",
        "turns": [
            {
                "text": "Scaling ghost to 2.",
                "tool_calls": [call("k8s_scale", resource="deployment/ghost", replicas=2)],
            },
            {"text": "ghost could not be scaled."},
        ],
    },
    {
        "match": "(?i)how is web",
        "turns": [
            {"text": "Looking.", "tool_calls": [call("k8s_get", resource="deployments")]},
            {"text": "web is healthy."},
        ],
    },
    {
        "match": "(?i)get the ghost",
        "turns": [
            {
                "text": "Looking for ghost.",
                "tool_calls": [call("k8s_get", resource="deployments", name="ghost")],
            },
            {"text": "There is no deployment named ghost."},
        ],
    },
]


@pytest.fixture(scope="module")
def server(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=WORKLOAD)
    assert applied.returncode == 0, applied.stderr
    workdir = tmp_path_factory.mktemp("cli-chat")
    # Two users with no global role: one an approver of the sandbox's context by a grant, one
    # only an operator there.
    users: dict[str, Role] = {"root": "admin", "scoped": "none", "looker": "none"}
    grants: list[Grant] = [
        ("scoped", "approver", sandbox.context, None),
        ("looker", "operator", sandbox.context, None),
    ]
    with serve_cli(sandbox.kubeconfig, sandbox.context, workdir, SCRIPTS, users, grants) as running:
        yield running


@pytest.fixture
def chat(server: CliServer) -> Iterator[pexpect.spawn[str]]:
    child = server.spawn("chat")
    try:
        child.expect("you> ")
        yield child
    finally:
        child.close(force=True)


def replicas(sandbox: SandboxInfo) -> int:
    got = kubectl(
        sandbox, "get", "deployment", "web", "-n", NAMESPACE, "-o", "jsonpath={.spec.replicas}"
    )
    return int(got.stdout)


def test_chat_reads_asks_for_approval_at_the_prompt_and_verifies(
    chat: pexpect.spawn[str], sandbox: SandboxInfo
) -> None:
    chat.sendline("please scale web to 2")
    chat.expect(re.escape("k8s_get deployments/web (cli-demo)"))
    chat.expect("succeeded")
    chat.expect("you proposed this change")
    chat.expect(PROMPT)
    assert replicas(sandbox) == 1, "nothing may change before the approval"
    chat.sendline("a")
    chat.expect(re.escape("approved k8s_scale deployment/web (cli-demo) by root"))
    chat.expect(r"(✔ verified|○ not verified) k8s_scale deployment/web")
    chat.expect("web now runs 2 replicas")
    chat.expect(re.escape("run completed: 1 change run"))
    after_decision = chat.before
    chat.expect("you> ")
    assert "waiting for approval" not in after_decision, "a stale status after the decision"
    assert replicas(sandbox) == 2


def test_typing_r_and_a_reason_rejects(
    chat: pexpect.spawn[str], server: CliServer, sandbox: SandboxInfo
) -> None:
    before = replicas(sandbox)
    chat.sendline("please scale web to 7")
    chat.expect(PROMPT)
    chat.sendline("r")
    chat.expect(re.escape("Reason for REJECTING k8s_scale deployment/web in cli-demo: "))
    chat.sendline("not during the freeze")
    chat.expect(
        re.escape("rejected k8s_scale deployment/web (cli-demo) by root: not during the freeze")
    )
    chat.expect(re.escape("run rejected: nothing ran (1 call rejected"))
    chat.expect("you> ")
    assert replicas(sandbox) == before != 7


def test_an_empty_or_unclear_answer_asks_again_and_decides_nothing(
    chat: pexpect.spawn[str], server: CliServer, sandbox: SandboxInfo
) -> None:
    chat.sendline("please scale web to 8")
    chat.expect(PROMPT)
    chat.sendline("")
    chat.expect(PROMPT)
    chat.sendline("y")
    chat.expect("type a to approve or r to reject")
    chat.expect(PROMPT)
    chat.sendline("r")
    chat.expect("Reason for REJECTING")
    chat.sendline("")
    chat.expect("no reason given: nothing was decided")
    chat.expect(PROMPT)
    waiting = [
        item for a in server.pending() for item in a["items"] if item["args"].get("replicas") == 8
    ]
    assert [item["status"] for item in waiting] == ["pending"]
    assert replicas(sandbox) != 8
    chat.sendline("r")
    chat.expect("Reason for REJECTING")
    chat.sendline("changed my mind")
    chat.expect(re.escape("rejected k8s_scale deployment/web (cli-demo) by root: changed my mind"))
    chat.expect("you> ")
    assert replicas(sandbox) != 8


def test_a_destructive_approval_needs_the_object_name_typed(
    chat: pexpect.spawn[str], sandbox: SandboxInfo
) -> None:
    def configmaps() -> str:
        return kubectl(sandbox, "get", "configmaps", "-n", NAMESPACE, "-o", "name").stdout

    chat.sendline("delete the doomed config")
    chat.expect("DESTRUCTIVE")
    chat.expect(PROMPT)
    chat.sendline("a")
    chat.expect(re.escape("This change is destructive: type doomed to approve it: "))
    chat.sendline("web")
    chat.expect("that is not doomed: nothing was decided")
    chat.expect(PROMPT)
    assert "configmap/doomed" in configmaps()
    chat.sendline("a")
    chat.expect("type doomed to approve it: ")
    chat.sendline("doomed")
    chat.expect(re.escape("Reason for APPROVING k8s_delete configmap/doomed in cli-demo: "))
    chat.sendline("cleanup")
    chat.expect(re.escape("approved k8s_delete configmap/doomed (cli-demo) by root: cleanup"))
    chat.expect("run ")
    chat.expect("you> ")
    assert "configmap/doomed" not in configmaps()


def test_a_failed_dry_run_shows_a_banner_needs_an_override_and_ends_with_failures(
    chat: pexpect.spawn[str],
) -> None:
    chat.sendline("please scale ghost")
    chat.expect("THE DRY RUN FAILED")
    chat.expect(PROMPT)
    chat.sendline("a")
    chat.expect(
        re.escape(
            "Override reason for APPROVING k8s_scale deployment/ghost in cli-demo "
            "despite the failed dry run: "
        )
    )
    chat.sendline("trying anyway")
    chat.expect(re.escape("approved k8s_scale deployment/ghost (cli-demo) by root: trying anyway"))
    chat.expect(re.escape("failed k8s_scale deployment/ghost (cli-demo)"))
    chat.expect(re.escape("run completed with failures: 1 change run; 1 call failed"))
    chat.expect("you> ")


def test_ask_exits_3_while_awaiting_approval_and_prints_the_card_and_approval_id(
    server: CliServer, sandbox: SandboxInfo
) -> None:
    done = server.run("ask", "scale web to 4")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "k8s_scale deployment/web (cli-demo)" in done.stdout
    assert "awaiting approval:" in done.stdout
    approval_id = done.stdout.split("awaiting approval:")[1].split()[0]
    assert approval_id in [item["id"] for item in server.pending()]
    assert replicas(sandbox) != 4


def test_ask_exits_0_when_the_run_completed(server: CliServer) -> None:
    done = server.run("ask", "how is web")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "web is healthy." in done.stdout
    assert "run completed: 1 read" in done.stdout


def test_ask_exits_1_and_says_why_when_a_call_failed(server: CliServer) -> None:
    done = server.run("ask", "get the ghost")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "run completed with failures: 1 call failed; 1 read" in done.stdout
    assert "failed k8s_get deployments/ghost (cli-demo)" in done.stdout


def test_ask_help_documents_its_exit_codes(server: CliServer) -> None:
    done = server.run("ask", "--help")
    assert done.returncode == 0
    assert "0 the run completed" in done.stdout
    assert "3 it waits for approval" in done.stdout


def test_ctrl_c_at_the_request_prompt_leaves_chat_cleanly(chat: pexpect.spawn[str]) -> None:
    chat.sendintr()
    chat.expect(pexpect.EOF)
    chat.close()
    assert chat.exitstatus == 0
    assert "Aborted" not in (chat.before or "")


def test_an_approver_by_a_scoped_grant_is_asked_and_decides(
    server: CliServer, sandbox: SandboxInfo
) -> None:
    """Global role `none`, approver of this context by a grant: the prompt counts the grant."""
    child = server.spawn("chat", user="scoped")
    try:
        child.expect("you> ")
        child.sendline("please scale web to 3")
        child.expect(PROMPT)
        assert "may not decide" not in child.before
        child.sendline("a")
        child.expect(re.escape("approved k8s_scale deployment/web (cli-demo) by scoped"))
        child.expect("you> ")
    finally:
        child.close(force=True)
    assert replicas(sandbox) == 3


def test_an_operator_by_a_grant_is_told_why_they_may_not_decide_and_nothing_runs(
    server: CliServer, sandbox: SandboxInfo
) -> None:
    before = replicas(sandbox)
    child = server.spawn("chat", user="looker")
    try:
        child.expect("you> ")
        child.sendline("please scale web to 5")
        why = f"you are operator in {sandbox.context}/{NAMESPACE}"
        child.expect(re.escape(f"you may not decide this change ({why})"))
        child.expect("it waits for an approver")
    finally:
        child.close(force=True)
    [pending] = [p for p in server.pending() if p["proposed_by_name"] == "looker"]
    shown = server.run("approvals", "show", pending["id"], user="looker")
    assert shown.returncode == 0, shown.stderr
    assert (
        f"you may not decide it: you are operator in {sandbox.context}/{NAMESPACE}" in shown.stdout
    )
    assert replicas(sandbox) == before != 5
