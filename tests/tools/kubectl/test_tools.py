"""Running kubectl tools, previews and verifies through a scripted runner: what runs, in
which order, with which stdin and deadline, and what the model gets back."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from opsgate.errors import ToolTimeout
from opsgate.tools import kubectl
from opsgate.tools.base import PreviewReport, Tool
from opsgate.tools.command import WHOLE_OUTPUT_BYTES
from opsgate.tools.kubectl import apply
from opsgate.tools.redact import REDACTED
from tests.tools.fakes import ScriptedRunner, env_with

TOOLS = {tool.name: tool for tool in kubectl.TOOLS}
HEAD = ("/opt/kubectl", "--kubeconfig", "/cfg/kubeconfig", "--context", "demo")
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n"


def _tool(name: str) -> Tool:
    return TOOLS[name]


async def _run(name: str, args: dict[str, Any], runner: ScriptedRunner, what: str = "run") -> Any:
    tool = _tool(name)
    fn = getattr(tool, what)
    assert fn is not None, f"{name} has no {what}"
    return await fn(tool.parse(args), env_with(runner))


async def test_read_returns_stdout_and_the_command() -> None:
    runner = ScriptedRunner()
    runner.script(stdout="NAME   READY\nweb-1  1/1\n")
    output = await _run("k8s_get", {"resource": "pods", "namespace": "shop"}, runner)
    assert output.ok
    assert output.text == "NAME   READY\nweb-1  1/1"
    assert runner.calls[0].argv == (*HEAD, "get", "pods", "--namespace", "shop")
    assert output.command is not None
    assert "get pods --namespace shop" in output.command


async def test_failure_shows_stderr_and_exit_code() -> None:
    runner = ScriptedRunner()
    runner.script(exit_code=1, stderr='Error from server (NotFound): pods "x" not found')
    output = await _run("k8s_describe", {"resource": "pod/x"}, runner)
    assert not output.ok
    assert "NotFound" in output.text
    assert "[exit code 1]" in output.text


async def test_warnings_on_stderr_reach_the_model_on_success() -> None:
    runner = ScriptedRunner()
    runner.script(
        stdout="deployment.apps/web scaled\n", stderr="Warning: would violate PodSecurity"
    )
    output = await _run("k8s_scale", {"resource": "deployment/web", "replicas": 2}, runner)
    assert output.ok
    assert output.text == "deployment.apps/web scaled\nWarning: would violate PodSecurity"


async def test_timeout_raises_tool_timeout() -> None:
    runner = ScriptedRunner()
    runner.script(exit_code=-9, timed_out=True)
    with pytest.raises(ToolTimeout, match="timed out"):
        await _run("k8s_get", {"resource": "pods"}, runner)


async def test_jsonpath_on_a_secret_is_redacted() -> None:
    runner = ScriptedRunner()
    runner.script(stdout="aHVudGVyMg==")
    output = await _run(
        "k8s_get", {"resource": "secret/db", "jsonpath": "{.data.password}"}, runner
    )
    assert output.text == REDACTED


async def test_rollout_status_deadline_follows_its_timeout() -> None:
    runner = ScriptedRunner()
    await _run("k8s_rollout_status", {"resource": "deployment/web", "timeout_s": 30}, runner)
    assert runner.calls[0].timeout_s == 45
    with pytest.raises(ValidationError):
        _tool("k8s_rollout_status").parse({"resource": "deployment/web", "timeout_s": 3600})


async def test_wait_seconds_is_bounded_and_waits() -> None:
    tool = _tool("k8s_wait_seconds")
    with pytest.raises(ValidationError):
        tool.parse({"seconds": 301})
    output = await _run("k8s_wait_seconds", {"seconds": 1}, ScriptedRunner())
    assert output.ok
    assert output.text == "waited 1 s"


async def test_apply_runs_a_server_side_dry_run_of_the_whole_manifest_first() -> None:
    runner = ScriptedRunner()
    await _run("k8s_apply", {"manifest": CONFIGMAP}, runner)
    assert [call.argv for call in runner.calls] == [
        (*HEAD, "apply", "--filename", "-", "--dry-run=server"),
        (*HEAD, "apply", "--filename", "-"),
    ]
    assert all(call.stdin == CONFIGMAP.encode() for call in runner.calls)


async def test_apply_preview_diffs_each_document_where_differences_are_ok() -> None:
    runner = ScriptedRunner()
    runner.script(exit_code=1, stdout="-  a: b\n+  a: c\n")
    output = await _run("k8s_apply", {"manifest": CONFIGMAP}, runner, "preview")
    assert output.ok
    assert output.data.state == "changes"
    assert runner.calls[0].argv == (*HEAD, "diff", "--filename", "-")
    assert b'"name": "cfg"' in (runner.calls[0].stdin or b"")
    # The diff is read whole and made readable here, not cut by the runner.
    assert runner.calls[0].stdout_cap_bytes == WHOLE_OUTPUT_BYTES


HEADER = ["diff -u -N /tmp/LIVE/x /tmp/MERGED/x", "--- /tmp/LIVE/x", "+++ /tmp/MERGED/x"]


def test_an_ordinary_diff_is_shown_whole_with_its_long_lines() -> None:
    new = "\n".join([*HEADER, "@@ -0,0 +1,500 @@", *(f"+  key{i}: v" for i in range(500))])
    assert apply.readable(new) == new
    change = "\n".join([*HEADER, "@@ -1,3 +1,3 @@", "   a: 1", "-  b: " + "x" * 12_000, "+  b: y"])
    assert apply.readable(change) == change


def test_a_diff_too_large_for_a_card_is_collapsed_saying_what_it_left_out() -> None:
    lines = 1500
    body = (f"+  key{i}: {'v' * 60}" for i in range(lines))
    new = "\n".join([*HEADER, f"@@ -0,0 +1,{lines} @@", *body])
    assert len(new.encode()) > apply.WHOLE_DIFF_BYTES
    shown = apply.readable(new).splitlines()
    assert len(shown) == apply.NEW_OBJECT_LINES + 1
    left = lines + 4 - apply.NEW_OBJECT_LINES
    assert shown[-1].startswith(f"… {left} more lines of the new object")
    long = "x" * apply.WHOLE_DIFF_BYTES
    change = "\n".join([*HEADER, "@@ -1,3 +1,3 @@", "   a: 1", "-  b: " + long, "+  b: y"])
    shown = apply.readable(change).splitlines()
    assert shown[-1] == "+  b: y"
    cut = len(long) + 6 - apply.LINE_CHARS
    assert shown[-2] == f"-  b: {'x' * (apply.LINE_CHARS - 6)}… ({cut} more characters)"


async def test_apply_verify_without_workloads_reads_the_objects_back_and_is_not_verified() -> None:
    runner = ScriptedRunner()
    runner.script(stdout="NAME   DATA\ncfg    1\n")
    output = await _run("k8s_apply", {"manifest": CONFIGMAP}, runner, "verify")
    assert runner.calls[0].argv == (*HEAD, "get", "--filename", "-")
    assert runner.calls[0].stdin == CONFIGMAP.encode()
    assert not output.ok
    assert output.data.verdict == "not_verified"
    assert "rollout not checked" in output.data.summary


@pytest.mark.parametrize(
    ("name", "args", "output_flag"),
    [
        (
            "k8s_set_image",
            {"resource": "deployment/web", "images": {"web": "nginx:2"}},
            "--output=yaml",
        ),
        ("k8s_patch", {"resource": "deployment/web", "patch": '{"spec":{}}'}, "--output=yaml"),
        ("k8s_label", {"resource": "pod/web-1", "labels": {"a": "b"}}, "--output=yaml"),
        ("k8s_annotate", {"resource": "pod/web-1", "annotations": {"a": "b"}}, "--output=yaml"),
        ("k8s_delete", {"resource": "pod/web-1"}, None),
        ("k8s_cordon", {"node": "node-1"}, None),
        ("k8s_drain", {"node": "node-1"}, None),
        ("k8s_rollout_undo", {"resource": "deployment/web"}, None),
        ("k8s_run_pod", {"name": "dbg", "image": "busybox"}, "--output=yaml"),
    ],
)
async def test_previews_are_server_side_dry_runs_of_the_same_call(
    name: str, args: dict[str, Any], output_flag: str | None
) -> None:
    runner = ScriptedRunner()
    await _run(name, args, runner, "preview")
    await _run(name, args, runner, "run")
    preview_argv, run_argv = runner.calls[-2].argv, runner.calls[-1].argv
    assert "--dry-run=server" in preview_argv
    assert "--dry-run=server" not in run_argv
    extra = ["--dry-run=server"] + ([output_flag] if output_flag else [])
    assert [arg for arg in preview_argv if arg not in extra] == list(run_argv)


async def test_scale_of_a_replicaset_is_only_read_back_never_verified() -> None:
    runner = ScriptedRunner()
    runner.script(stdout='{"kind": "ReplicaSet"}')
    output = await _run(
        "k8s_scale", {"resource": "replicaset/web-1", "replicas": 1}, runner, "verify"
    )
    assert runner.calls[0].argv[5:] == ("get", "replicaset/web-1", "--output=json")
    assert output.data.verdict == "not_verified"
    assert output.data.summary == "object updated; rollout not checked"
    assert not output.ok


async def test_delete_verify_passes_only_when_nothing_remains() -> None:
    runner = ScriptedRunner()
    runner.script(stdout="")
    runner.script(stdout="pod/web-1\n")
    gone = await _run("k8s_delete", {"resource": "pod/web-1"}, runner, "verify")
    still = await _run("k8s_delete", {"resource": "pod/web-1"}, runner, "verify")
    assert gone.ok
    assert gone.data.verdict == "verified"
    assert not still.ok
    assert still.data.verdict == "failed"
    assert "pod/web-1" in still.text
    assert "--ignore-not-found" in runner.calls[0].argv


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("just text", "Kubernetes objects"),
        ("a: [", "not valid YAML"),
        ("kind: Pod\nmetadata: {name: x}", "apiVersion"),
        ("apiVersion: v1\nmetadata: {name: x}", "kind"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {}", "metadata.name"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: x, namespace: -x}", "namespace"),
        ("apiVersion: v1\nkind: List\nitems: [1]", "Kubernetes objects"),
        ("", "no Kubernetes objects"),
    ],
)
def test_manifests_must_be_kubernetes_objects(manifest: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        _tool("k8s_apply").parse({"manifest": manifest})
    assert caught.value.errors()[0]["loc"] == ("manifest",)


def test_a_list_manifest_is_accepted() -> None:
    manifest = "apiVersion: v1\nkind: List\nitems:\n- " + CONFIGMAP.replace("\n", "\n  ")
    assert _tool("k8s_apply").parse({"manifest": manifest})


@pytest.mark.parametrize(
    "args",
    [
        {"resource": "deployment/web", "patch": '[{"op": "add"}]'},
        {"resource": "deployment/web", "patch": '{"a": 1}', "patch_type": "json"},
        {"resource": "deployment/web", "patch": "[]", "patch_type": "json"},
        {"resource": "deployment", "patch": '{"a": 1}'},
        {"resource": "deployment/web", "name": "web", "patch": '{"a": 1}'},
    ],
)
def test_patch_must_match_its_type_and_name_one_object(args: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _tool("k8s_patch").parse(args)


@pytest.mark.parametrize(
    "args",
    [
        {"resource": "pods"},
        {"resource": "pods", "name": "a", "selector": "app=web"},
        {"resource": "pod/a", "selector": "app=web"},
    ],
)
def test_delete_names_exactly_one_target(args: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one target"):
        _tool("k8s_delete").parse(args)


async def test_object_previews_diff_the_object_now_against_the_dry_run() -> None:
    runner = ScriptedRunner()
    runner.script(stdout="kind: Deployment\nspec:\n  replicas: 1\n  paused: false\n")
    runner.script(stdout="kind: Deployment\nspec:\n  replicas: 3\n  paused: false\n")
    args = {"resource": "deployment/web", "replicas": 3, "namespace": "shop"}
    output = await _run("k8s_scale", args, runner, "preview")
    assert runner.calls[0].argv[5:] == (
        "get", "deployment/web", "--namespace", "shop", "--output=yaml",
    )  # fmt: skip
    assert runner.calls[1].argv[5:] == (
        "patch", "deployment/web", "--namespace", "shop", "--type=merge",
        '--patch={"spec":{"replicas":3}}', "--dry-run=server", "--output=yaml",
    )  # fmt: skip
    assert "-  replicas: 1" in output.text
    assert "+  replicas: 3" in output.text
    assert "paused" in output.text
    assert output.data == PreviewReport(
        state="changes",
        command=" ".join([*HEAD, "scale", "deployment/web", "--namespace", "shop", "--replicas=3"]),
    )


async def test_a_preview_that_changes_nothing_says_so() -> None:
    runner = ScriptedRunner()
    runner.script(stdout="metadata:\n  resourceVersion: '1'\n  labels: {a: b}\n")
    runner.script(stdout="metadata:\n  resourceVersion: '2'\n  labels: {a: b}\n")
    args = {"resource": "pod/web-1", "labels": {"a": "b"}, "overwrite": True}
    output = await _run("k8s_label", args, runner, "preview")
    assert output.text == "no changes to pod/web-1"
    assert output.ok
    assert output.data.state == "no_change"


async def test_a_failed_dry_run_is_the_preview() -> None:
    runner = ScriptedRunner()
    runner.script(stdout="kind: Deployment\n")
    runner.script(exit_code=1, stderr='admission webhook "x" denied the request')
    output = await _run(
        "k8s_set_image", {"resource": "deployment/web", "images": {"w": "a"}}, runner, "preview"
    )
    assert not output.ok
    assert "denied" in output.text
    assert output.data.state == "failed"
    assert output.data.command is not None
    assert output.data.command.endswith("set image deployment/web w=a")
