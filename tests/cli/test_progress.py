"""A long call's progress in `opsgate chat`: in a real terminal (xterm, replayed through a
VT100 emulator) every heartbeat replaces its call's one line, and when the call ends the
line is gone and the result, the answer and the final status stand as printed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from tests.fixtures.cli import CliServer, screen, serve_cli, workload
from tests.fixtures.sandbox import SandboxInfo, kubectl

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NAMESPACE = "cli-progress"
ROWS, COLUMNS = 50, 120
WORKLOAD = workload(NAMESPACE, "stuck", "nginx:bad-tag")
SCRIPTS = [
    {
        "match": "(?i)watch the stuck rollout",
        "turns": [
            {
                "text": "Watching the rollout of stuck.",
                "tool_calls": [
                    {
                        "name": "k8s_rollout_status",
                        "args": {
                            "resource": "deployment/stuck",
                            "namespace": NAMESPACE,
                            "timeout_s": 12,
                        },
                    }
                ],
            },
            {"text": "The rollout of stuck did not finish."},
        ],
    }
]


@pytest.fixture(scope="module")
def server(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliServer]:
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=WORKLOAD)
    assert applied.returncode == 0, applied.stderr
    with serve_cli(
        sandbox.kubeconfig,
        sandbox.context,
        tmp_path_factory.mktemp("cli-progress"),
        SCRIPTS,
        {"root": "admin"},
    ) as running:
        yield running


def test_heartbeats_update_one_line_and_never_overwrite_the_output(server: CliServer) -> None:
    received = io.StringIO()
    child = server.spawn("chat", term="xterm", rows=ROWS, columns=COLUMNS)
    child.logfile_read = received
    try:
        child.expect("you> ")
        child.sendline("watch the stuck rollout")
        child.expect(r"still running \(10 s\)")
        during = screen(received.getvalue(), ROWS, COLUMNS)
        progress = [line for line in during if "still running" in line]
        assert progress == [
            f"  ⋯ k8s_rollout_status deployment/stuck ({NAMESPACE}): still running (10 s)"
        ]
        assert "still running (5 s)" in received.getvalue(), "the first heartbeat was shown too"
        child.expect("run completed with failures")
        child.expect("you> ")
    finally:
        child.close(force=True)
    after = screen(received.getvalue(), ROWS, COLUMNS)
    assert not [line for line in after if "still running" in line]
    shown = "\n".join(after)
    assert "Watching the rollout of stuck." in shown
    assert f"failed k8s_rollout_status deployment/stuck ({NAMESPACE})" in shown
    assert "timed out waiting for the condition" in shown
    assert "The rollout of stuck did not finish." in shown
    assert "run completed with failures: 1 call failed; 1 read" in shown
