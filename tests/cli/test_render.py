"""The stream as `chat` and `ask` print it, event by event, on a recording console: decisions
and results named by tool and object, a failed verification with its reason, details, next
step and the rollback offered (not run), and the derived final status with its summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from opsgate.cli.client import SseEvent
from opsgate.cli.render import Renderer

RUN = "run_1"
SCALE = {"resource": "deployment/frontend", "namespace": "shop", "replicas": 5}


def shown(*events: tuple[str, dict[str, Any]]) -> str:
    console = Console(record=True, width=200, force_terminal=False)
    renderer = Renderer(console)
    for number, (kind, data) in enumerate(events, 1):
        renderer.show(SseEvent(number, kind, {"type": kind, "run_id": RUN, **data}))
    return console.export_text()


PLAN = (
    "plan",
    {
        "text": "Scaling frontend for the sale.",
        "calls": [
            {
                "call_id": "c1",
                "tool": "k8s_scale",
                "args": SCALE,
                "context": "prod",
                "classification": "mutation",
            }
        ],
    },
)


def test_a_failed_verification_says_why_and_offers_the_rollback_without_running_it() -> None:
    out = shown(
        PLAN,
        (
            "verify",
            {
                "call_id": "c1",
                "tool": "k8s_scale",
                "verdict": "failed",
                "summary": (
                    'pod frontend-7d4b9: CreateContainerConfigError: secret "api-db" not found'
                ),
                "proves": "the rollout finished with every replica ready",
                "details": ['Warning  Failed  kubelet  Error: secret "api-db" not found'],
                "next_step": "create the secret or undo the change",
                "rollback": {
                    "tool": "k8s_rollout_undo",
                    "args": {"resource": "deployment/frontend", "namespace": "shop"},
                },
            },
        ),
    )
    assert (
        "✘ verification failed k8s_scale deployment/frontend (shop): pod frontend-7d4b9: "
        'CreateContainerConfigError: secret "api-db" not found'
    ) in out
    assert "what this check proves: the rollout finished with every replica ready" in out
    assert '· Warning  Failed  kubelet  Error: secret "api-db" not found' in out
    assert "next step: create the secret or undo the change" in out
    assert "rollback offered: k8s_rollout_undo deployment/frontend (shop)" in out
    assert "nothing was rolled back" in out


def test_the_rationale_is_printed_whole_when_the_stream_missed_some() -> None:
    out = shown(("token", {"text": "Scaling front"}), PLAN)
    assert "Scaling front\nScaling frontend for the sale.\n" in out
    whole = shown(("token", {"text": "Scaling frontend for the sale."}), PLAN)
    assert whole.count("Scaling frontend for the sale.") == 1


def test_a_decision_names_tool_object_and_person_with_the_ids_after() -> None:
    out = shown(
        PLAN,
        (
            "approval.decided",
            {
                "approval_id": "apr_1",
                "call_id": "c1",
                "decision": "reject",
                "decided_by": "ada",
                "reason": "not during the freeze",
            },
        ),
    )
    assert (
        "rejected k8s_scale deployment/frontend (shop) by ada: not during the freeze"
        "  call c1, approval apr_1"
    ) in out


def test_an_approval_a_policy_quorum_counted_is_not_shown_as_approved() -> None:
    progress = "2 of 2 approvals from group sre-prod needed; 1 given (ada) [rule prod]"
    out = shown(
        PLAN,
        (
            "approval.decided",
            {
                "approval_id": "apr_1",
                "call_id": "c1",
                "decision": "approve",
                "decided_by": "ada",
                "settled": False,
                "progress": [progress],
            },
        ),
    )
    assert "approval by ada counted for k8s_scale deployment/frontend (shop); it still waits" in out
    assert f"policy {progress}" in out
    assert "approved" not in out


def test_the_final_status_is_the_derived_one_with_its_summary() -> None:
    summary = {"changes_run": 1, "verification_failed": 1, "reads": 1}
    out = shown(
        PLAN,
        ("run.finished", {"status": "completed_with_failures", "summary": summary}),
    )
    assert out.endswith(
        "run completed with failures: 1 change run: 1 verification failed; 1 read\n"
    )
    stopped = shown(("run.finished", {"status": "stopped", "stopped_by": "ada", "summary": {}}))
    assert stopped == "run stopped by ada: nothing was run\n"


def test_an_event_this_cli_does_not_know_is_said_so_and_crashes_nothing() -> None:
    assert shown(("run.teleported", {"where": "[/bold]"})) == (
        "(an event this CLI does not know: run.teleported)\n"
    )
