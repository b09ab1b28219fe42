"""What the terminal makes of untrusted text and of calls, without a server: `visible`, the
words of every state, how calls are named, and the approval card as a console renders it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from rich.console import Console

from opsgate.cli import cards, words
from opsgate.cli.common import untrusted, visible
from opsgate.domain.calls import CallStatus
from opsgate.domain.events import ApprovalCall, PreviewOutcome, Verdict
from opsgate.domain.runs import RunStatus


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain [bold]text[/]", "plain [bold]text[/]"),
        ("\x1b[2Jcleared", "\\x1b[2Jcleared"),
        ("csi\x9b31m", "csi\\x9b31m"),
        ("bell\x07 del\x7f nul\x00", "bell\\x07 del\\x7f nul\\x00"),
        ("zero\u200bwidth", "zero<U+200B>width"),
        ("rtl\u202eevil\u2066", "rtl<U+202E>evil<U+2066>"),
        ("line\u2028sep", "line<U+2028>sep"),
        ("two\nlines\tand\rback", "two\\nlines\\tand\\rback"),
        ("lone \ud800 surrogate", "lone <U+D800> surrogate"),
        ("é 中 ✔", "é 中 ✔"),
    ],
)
def test_visible_writes_out_what_a_terminal_would_obey_or_hide(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_visible_blocks_keep_their_lines_but_not_a_carriage_return() -> None:
    text = "first\r\nsecond\twith tab\nthird\roverwritten \x1b[1A"
    assert visible(text, block=True) == "first\nsecond\twith tab\nthird\\roverwritten \\x1b[1A"


def test_untrusted_text_is_printed_as_it_is() -> None:
    console = Console(record=True, width=100, force_terminal=False)
    console.print(untrusted("[/bold] [conceal]privileged: true[/conceal] :smile:"))
    assert console.export_text() == "[/bold] [conceal]privileged: true[/conceal] :smile:\n"


def test_every_state_has_its_word() -> None:
    assert set(words.RUN) == set(get_args(RunStatus))
    assert set(words.CALL) == set(get_args(CallStatus))
    assert set(words.VERDICT) == set(get_args(Verdict))
    assert set(words.PREVIEW) == set(get_args(PreviewOutcome))
    assert [words.DECIDED[d].word for d in ("approve", "reject")] == ["approved", "rejected"]


@pytest.mark.parametrize(
    ("tool", "args", "target", "confirm"),
    [
        (
            "k8s_scale",
            {"resource": "deployment/frontend", "replicas": 3},
            "deployment/frontend",
            "frontend",
        ),
        ("k8s_delete", {"resource": "configmap", "name": "old"}, "configmap/old", "old"),
        (
            "k8s_delete",
            {"resource": "pods", "selector": "app=web"},
            "pods -l app=web",
            "pods -l app=web",
        ),
        ("helm_rollback", {"release": "cache", "revision": 2}, "release/cache", "cache"),
        ("jenkins_trigger_build", {"job": "shop-build"}, "job/shop-build", "shop-build"),
        ("k8s_drain", {"node": "worker-1"}, "node/worker-1", "worker-1"),
        ("argo_abort", {"name": "checkout"}, "rollout/checkout", "checkout"),
        (
            "k8s_apply",
            {"manifest": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
            "configmap/a",
            "a",
        ),
        ("k8s_apply", {"manifest": "not: [a manifest"}, "a manifest that does not parse", None),
        (
            "k8s_create_job_from_cronjob",
            {"cronjob": "nightly-report", "name": "nightly-report-1"},
            "job/nightly-report-1 from cronjob/nightly-report",
            "job/nightly-report-1 from cronjob/nightly-report",
        ),
        ("k8s_apply", {"kustomize_dir": "/srv/app"}, "the kustomization in /srv/app", None),
        (
            "k8s_apply",
            {"kustomization": {"kustomization.yaml": "resources: [a.yaml]", "a.yaml": "x"}},
            "a kustomization of 2 files",
            None,
        ),
        ("helm_dependency_build", {"chart": "./charts/shop"}, "chart ./charts/shop", None),
        ("k8s_rollout_status", {}, "(no object named)", None),
    ],
)
def test_calls_are_named_by_their_object(
    tool: str, args: dict[str, Any], target: str, confirm: str | None
) -> None:
    assert cards.target_of(tool, args) == target
    if confirm is not None:
        assert cards.confirm_word(tool, args) == confirm


def test_labels_name_tool_object_and_namespace() -> None:
    args = {"resource": "deployment/frontend", "namespace": "shop"}
    assert cards.label("k8s_scale", args) == "k8s_scale deployment/frontend (shop)"
    assert cards.label_in("k8s_scale", args) == "k8s_scale deployment/frontend in shop"


def render_card(preview_state: PreviewOutcome, **args: Any) -> str:
    call = ApprovalCall(
        call_id="c1",
        tool="k8s_scale",
        args={"resource": "deployment/frontend", "namespace": "shop", **args},
        context="prod",
        namespace="shop",
        destructive=False,
        call_hash="h",
        preview="no changes to deployment/frontend",
        preview_state=preview_state,
        command="kubectl --context prod -n shop scale deployment/frontend --replicas=5",
        cluster="https://10.0.0.1:6443",
    )
    console = Console(record=True, width=80, force_terminal=False)
    expires = datetime.now(UTC) + timedelta(minutes=10)
    console.print(cards.card(call, proposer="ada", expires_at=expires, position=(1, 1)))
    return console.export_text()


def test_a_no_op_card_says_nothing_will_change_and_shows_the_exact_command() -> None:
    shown = render_card("no_change")
    assert "nothing will change: the dry run found no difference" in shown
    assert "kubectl --context prod -n shop scale deployment/frontend" in shown
    assert "prod · cluster https://10.0.0.1:6443" in shown


def test_long_arguments_wrap_on_the_card_and_are_never_cut() -> None:
    long_value = "x" * 150 + "-privileged-true-" + "y" * 150
    shown = render_card("changes", note=long_value)
    inside = "".join(re.sub(r"^│ ?| ?│$", "", line) for line in shown.splitlines())
    assert long_value in inside.replace(" ", "")
    assert "…" not in shown
