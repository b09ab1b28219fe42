"""Text the model, the cluster or a user chose is shown as it is, never obeyed: Rich markup,
terminal escape sequences and invisible or bidirectional characters in model text, tool
arguments, pod logs, usernames and reasons reach `ask`, `approvals list`/`show` and `chat`
literally (controls written out as `\\x1b`, `<U+202E>`), and crash nothing.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.cli import CliServer, serve_cli
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NAMESPACE = "cli-evil"
EVIL = "[conceal]hidden[/conceal] [/bold] \x1b[2J\x1b[31mred zero\u200bwidth rtl\u202eevil"
EVIL_SHOWN = (
    "[conceal]hidden[/conceal] [/bold] \\x1b[2J\\x1b[31mred zero<U+200B>width rtl<U+202E>evil"
)
MALLORY = "[bold red]mallory[/]\x1b[2J\u202e"
MALLORY_SHOWN = "[bold red]mallory[/]\\x1b[2J<U+202E>"
RAW = ("\x1b", "\u200b", "\u202e")
MANIFEST = f"""apiVersion: v1
kind: Pod
metadata:
  name: evil-pod
  namespace: {NAMESPACE}
spec:
  containers:
    - name: c
      image: busybox
      # [conceal] looks harmless
      securityContext:
        privileged: true
      # [/conceal] [/bold] \u202e
"""
WORKLOAD = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NAMESPACE, "labels": {"app": "web"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "evil", "namespace": NAMESPACE},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {"name": "c", "image": "busybox", "command": ["echo", EVIL]}
                        ],
                    }
                }
            },
        },
    ],
}


def call(tool: str, **args: Any) -> dict[str, Any]:
    return {"name": tool, "args": {"namespace": NAMESPACE, **args}}


SCRIPTS = [
    {
        "match": "(?i)show the evil logs",
        "turns": [
            {
                "text": f"Reading the logs. {EVIL}",
                "tool_calls": [
                    call("k8s_logs", pod="job/evil"),
                    call("k8s_get", resource="deployments", name=f"web{EVIL}"),
                ],
            },
            {"text": f"The logs say: {EVIL}"},
        ],
    },
    {
        "match": "(?i)apply the evil manifest",
        "turns": [
            {"text": "Applying.", "tool_calls": [call("k8s_apply", manifest=MANIFEST)]},
            {"text": "Applied."},
        ],
    },
    {
        "match": "(?i)scale the evil web",
        "turns": [
            {
                "text": "Scaling.",
                "tool_calls": [call("k8s_scale", resource="deployment/web", replicas=2)],
            },
            {"text": "I did not scale web."},
        ],
    },
]


@pytest.fixture(scope="module")
def server(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    applied = kubectl(sandbox, "apply", "--validate=false", "-f", "-", stdin=json.dumps(WORKLOAD))
    assert applied.returncode == 0, applied.stderr
    with serve_cli(
        sandbox.kubeconfig,
        sandbox.context,
        tmp_path_factory.mktemp("cli-evil"),
        SCRIPTS,
        {"root": "admin", MALLORY: "approver"},
    ) as running:
        yield running


def assert_nothing_raw(output: str) -> None:
    for char in RAW:
        assert char not in output, f"{char!r} reached the terminal"


def test_ask_shows_markup_and_controls_in_model_text_arguments_and_logs_literally(
    server: CliServer,
) -> None:
    done = server.run("ask", "show the evil logs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Reading the logs. {EVIL_SHOWN}" in done.stdout  # the model's text
    assert f"│ {EVIL_SHOWN} │" in done.stdout  # the pod's log: what `echo` printed
    assert "invalid k8s_get deployments/web[conceal]hidden[/conceal]" in done.stdout  # arguments
    assert f"The logs say: {EVIL_SHOWN}" in done.stdout
    assert "run completed" in done.stdout
    assert_nothing_raw(done.stdout)


def test_approvals_list_and_show_give_a_concealed_manifest_and_a_markup_username_literally(
    server: CliServer,
) -> None:
    asked = server.run("ask", "apply the evil manifest", user=MALLORY)
    assert asked.returncode == 3, asked.stdout + asked.stderr
    assert "      # [conceal] looks harmless" in asked.stdout
    assert (
        "proposed   [bold red]mallory[/]\\x1b[2J<U+202E> · you proposed this change" in asked.stdout
    )
    assert_nothing_raw(asked.stdout)
    inbox = server.run("approvals", "list")
    assert inbox.returncode == 0, inbox.stdout + inbox.stderr
    assert_nothing_raw(inbox.stdout)
    approval_id = asked.stdout.split("awaiting approval:")[1].split()[0]
    listed = server.run("approvals", "show", approval_id)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"proposed by {MALLORY_SHOWN} · expires" in listed.stdout
    # The manifest as it will be applied, line for line, under `manifest: |` (indented 10).
    shown = [" " * 10 + line for line in MANIFEST.replace("\u202e", "<U+202E>").splitlines()]
    lines = listed.stdout.splitlines()
    start = lines.index(" " * 10 + "apiVersion: v1")
    assert lines[start : start + len(shown)] == shown
    assert_nothing_raw(listed.stdout)


def test_chat_shows_untrusted_text_literally_in_a_terminal(server: CliServer) -> None:
    received = io.StringIO()
    child = server.spawn("chat", user=MALLORY)
    child.logfile_read = received
    try:
        child.expect("you> ")
        child.sendline("show the evil logs")
        child.expect(re.escape(f"│ {EVIL_SHOWN}"))
        child.expect("run completed")
        child.expect("you> ")
        child.sendline("scale the evil web")
        child.expect(re.escape("[a]pprove [r]eject [s]kip [d]iff [?]help: "))
        child.sendline("r")
        child.expect("Reason for REJECTING")
        child.sendline("[/bold] [conceal]no[/conceal]")
        child.expect(
            re.escape(
                f"rejected k8s_scale deployment/web ({NAMESPACE}) by {MALLORY_SHOWN}: "
                "[/bold] [conceal]no[/conceal]"
            )
        )
        child.expect(re.escape("run rejected: nothing ran (1 call rejected"))
        child.expect("you> ")
    finally:
        child.close(force=True)
    assert_nothing_raw(received.getvalue())
