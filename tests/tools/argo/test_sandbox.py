"""Argo Rollouts tools run for real: bundled kubectl, real runner, the sandbox's Rollout controller.

Every tool goes through its `Tool.run` (mutations also through `preview` and `verify`) and the
outcome is read back with kubectl. Each test drives a Rollout of its own in the namespace
`argo-it`, so the demo `shop/checkout` other tests read stays as seeded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from opsgate.errors import ToolFailed
from opsgate.settings import Settings
from opsgate.tools import argo, binaries
from opsgate.tools.base import ConfiguredJenkins, RollbackCall, ToolEnv, ToolOutput, Verification
from tests.fixtures.sandbox import SandboxInfo, get_json, kubectl

PULL_FAILED = re.compile(r": (ErrImagePull|ImagePullBackOff): ")
"""How the kubelet says an image cannot be pulled (first ErrImagePull, then the back-off)."""

pytestmark = pytest.mark.sandbox

TOOLS = {tool.name: tool for tool in argo.TOOLS}
NAMESPACE = "argo-it"
ROLLOUTS = "rollouts.argoproj.io"


def rollout_manifest(name: str, image: str) -> str:
    """A 4-replica canary: 25% / pause / 50% / pause / 75% / pause (pauses wait for a promote)."""
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: {name}, namespace: {NAMESPACE}, labels: {{app: {name}, suite: argo-it}}}}
spec:
  replicas: 4
  revisionHistoryLimit: 5
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: {name}, image: "{image}"}}]}}
  strategy:
    canary:
      steps:
      - setWeight: 25
      - pause: {{}}
      - setWeight: 50
      - pause: {{}}
      - setWeight: 75
      - pause: {{}}
"""


@pytest.fixture(scope="module")
def tool_env(sandbox: SandboxInfo) -> Iterator[ToolEnv]:
    created = kubectl(sandbox, "create", "namespace", NAMESPACE)
    assert created.returncode == 0, created.stderr
    settings = Settings(
        kubeconfig=sandbox.kubeconfig,
        default_context=sandbox.context,
        tools_dir=sandbox.kubectl.parent,
        command_timeout_s=30,
        data_dir=sandbox.home / "opsgate",
    )
    runner = binaries.runner_from_settings(
        settings,
        inherited={"PATH": "/usr/bin:/bin", "HOME": str(sandbox.home), "LANG": "C.UTF-8"},
    )
    yield binaries.tool_env_from_settings(
        settings, runner, jenkins=ConfiguredJenkins(), search_path=""
    )
    kubectl(sandbox, "delete", "namespace", NAMESPACE, "--wait=false")


@pytest.fixture(scope="module")
def stable(sandbox: SandboxInfo, tool_env: ToolEnv) -> str:
    """A Rollout left Healthy at its first revision, only read by the tests."""
    return make_rollout(sandbox, "steady", "nginx:1.25")


def make_rollout(sandbox: SandboxInfo, name: str, image: str) -> str:
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=rollout_manifest(name, image))
    assert applied.returncode == 0, applied.stderr
    assert read(sandbox, name)["status"]["phase"] == "Healthy"
    return name


def canary(sandbox: SandboxInfo, name: str, old: str, new: str) -> str:
    """A Rollout stable on `old`, with a canary of `new` paused at step 1 (25%)."""
    make_rollout(sandbox, name, old)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": name, "image": new}]}}}}
    done = kubectl(
        sandbox,
        "patch",
        ROLLOUTS,
        name,
        "-n",
        NAMESPACE,
        "--type",
        "merge",
        "-p",
        json.dumps(patch),
    )
    assert done.returncode == 0, done.stderr
    status = read(sandbox, name)["status"]
    assert (status["phase"], status["currentStepIndex"]) == ("Paused", 1)
    return name


def read(sandbox: SandboxInfo, name: str) -> dict[str, Any]:
    rollout: dict[str, Any] = get_json(sandbox, ROLLOUTS, name, "-n", NAMESPACE)
    return rollout


def pod_names(sandbox: SandboxInfo, selector: str) -> set[str]:
    pods = get_json(sandbox, "pods", "-n", NAMESPACE, "-l", selector)["items"]
    return {pod["metadata"]["name"] for pod in pods}


def image_of(rollout: dict[str, Any]) -> str:
    image: str = rollout["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def args(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, **extra}


async def call(env: ToolEnv, name: str, arguments: dict[str, Any], what: str = "run") -> ToolOutput:
    tool = TOOLS[name]
    fn = getattr(tool, what)
    assert fn is not None
    output: ToolOutput = await fn(tool.parse(arguments), env)
    return output


async def run_checked(
    sandbox: SandboxInfo, env: ToolEnv, tool: str, arguments: dict[str, Any]
) -> ToolOutput:
    """Preview (must change nothing), run, then verify; returns the verify output."""
    before = read(sandbox, arguments["name"])
    preview = await call(env, tool, arguments, "preview")
    assert preview.ok, preview.text
    assert "server dry run" in preview.text
    after_preview = read(sandbox, arguments["name"])
    assert after_preview["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after_preview["spec"] == before["spec"]
    assert after_preview["status"] == before["status"]
    output = await call(env, tool, arguments)
    assert output.ok, output.text
    verdict = await call(env, tool, arguments, "verify")
    assert verdict.ok, verdict.text
    return verdict


# Reads


async def test_list_shows_the_rollouts_of_the_namespace(tool_env: ToolEnv, stable: str) -> None:
    output = await call(tool_env, "argo_list_rollouts", {"namespace": NAMESPACE})
    assert output.ok, output.text
    assert f"{NAMESPACE}  {stable}  Healthy  6/6  100  4/4" in output.text
    assert "checkout" not in output.text


async def test_list_across_namespaces_with_a_selector(tool_env: ToolEnv, stable: str) -> None:
    everywhere = await call(tool_env, "argo_list_rollouts", {"all_namespaces": True})
    assert "shop  checkout  Paused  1/6  20" in everywhere.text
    assert f"{NAMESPACE}  {stable}" in everywhere.text
    chosen = await call(
        tool_env, "argo_list_rollouts", {"all_namespaces": True, "selector": "app=checkout"}
    )
    assert chosen.data == {"count": 1}
    assert stable not in chosen.text


async def test_get_reports_the_demo_canary_paused_at_its_first_pause(tool_env: ToolEnv) -> None:
    output = await call(tool_env, "argo_get_rollout", {"name": "checkout", "namespace": "shop"})
    assert output.ok, output.text
    assert output.data == {
        "phase": "Paused",
        "currentStepIndex": 1,
        "steps": 6,
        "canaryWeight": 20,
        "paused": True,
    }
    assert "Paused:     CanaryPauseStep" in output.text
    assert "[canary] replicas 1/1 checkout=ghcr.io/opsgate-demo/checkout:3.2.0" in output.text
    assert "[stable] replicas 4/4 checkout=ghcr.io/opsgate-demo/checkout:3.1.0" in output.text


async def test_get_of_a_healthy_rollout_is_at_full_weight(tool_env: ToolEnv, stable: str) -> None:
    output = await call(tool_env, "argo_get_rollout", args(stable))
    assert output.data is not None
    assert (output.data["phase"], output.data["canaryWeight"]) == ("Healthy", 100)
    assert "revision 1 " in output.text
    assert "[stable] replicas 4/4" in output.text


async def test_get_of_a_missing_rollout_fails(tool_env: ToolEnv) -> None:
    with pytest.raises(ToolFailed, match="not found"):
        await call(tool_env, "argo_get_rollout", args("nope"))


async def test_history_lists_each_revision_with_its_image(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    name = canary(sandbox, "hist", "nginx:1.25", "nginx:1.26")
    output = await call(tool_env, "argo_rollout_history", args(name))
    assert output.ok, output.text
    lines = output.text.splitlines()
    assert lines[1].startswith("1 ")
    assert lines[1].endswith(f"{name}=nginx:1.25")
    assert lines[2].startswith("2 ")
    assert lines[2].endswith(f"{name}=nginx:1.26")


async def test_describe_shows_spec_and_status(tool_env: ToolEnv, stable: str) -> None:
    output = await call(tool_env, "argo_describe", args(stable))
    assert output.ok, output.text
    assert f"Name:         {stable}" in output.text
    assert "nginx:1.25" in output.text
    assert "Phase:" in output.text
    assert "Healthy" in output.text


async def test_experiments_and_analysis_runs_are_listed(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    empty = await call(tool_env, "argo_list_experiments", {"namespace": NAMESPACE})
    assert (empty.ok, empty.data) == (True, {"count": 0})
    run = f"""
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata: {{name: web-check, namespace: {NAMESPACE}}}
spec: {{metrics: [{{name: errors, provider: {{job: {{}}}}}}]}}
"""
    experiment = f"""
apiVersion: argoproj.io/v1alpha1
kind: Experiment
metadata: {{name: web-exp, namespace: {NAMESPACE}}}
spec: {{templates: []}}
"""
    for manifest in (run, experiment):
        created = kubectl(sandbox, "create", "-f", "-", stdin=manifest)
        assert created.returncode == 0, created.stderr
    status = {"status": {"phase": "Failed", "message": "errors above 5%"}}
    patched = kubectl(
        sandbox,
        *("patch", "analysisruns.argoproj.io", "web-check", "-n", NAMESPACE),
        *("--type", "merge", "--subresource=status", "-p", json.dumps(status)),
    )
    assert patched.returncode == 0, patched.stderr
    runs = await call(tool_env, "argo_list_analysisruns", {"namespace": NAMESPACE})
    assert runs.data == {"count": 1}
    assert f"{NAMESPACE}  web-check  Failed  errors above 5%" in runs.text
    experiments = await call(tool_env, "argo_list_experiments", {"namespace": NAMESPACE})
    assert experiments.data == {"count": 1}
    assert "web-exp" in experiments.text


# Mutations: each with its preview (a server dry run that changes nothing) and verify.


async def test_promote_a_step_then_full(sandbox: SandboxInfo, tool_env: ToolEnv) -> None:
    name = canary(sandbox, "promo", "nginx:1.25", "nginx:1.26")
    await run_checked(sandbox, tool_env, "argo_promote", args(name))
    status = read(sandbox, name)["status"]
    assert (status["phase"], status["currentStepIndex"]) == ("Paused", 3)
    got = await call(tool_env, "argo_get_rollout", args(name))
    assert got.data is not None
    assert got.data["canaryWeight"] == 50
    await run_checked(sandbox, tool_env, "argo_promote", args(name, full=True))
    rollout = read(sandbox, name)
    assert rollout["status"]["phase"] == "Healthy"
    assert rollout["status"]["stableRS"] == rollout["status"]["currentPodHash"]
    got = await call(tool_env, "argo_get_rollout", args(name))
    assert "[stable] replicas 4/4 promo=nginx:1.26" in got.text


async def test_promote_of_a_settled_rollout_is_refused_and_changes_nothing(
    sandbox: SandboxInfo, tool_env: ToolEnv, stable: str
) -> None:
    before = read(sandbox, stable)
    for full in (False, True):
        with pytest.raises(ToolFailed, match=r"no step left|already fully promoted"):
            await call(tool_env, "argo_promote", args(stable, full=full))
    after = read(sandbox, stable)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


async def test_pause_then_resume(sandbox: SandboxInfo, tool_env: ToolEnv) -> None:
    name = canary(sandbox, "hold", "nginx:1.25", "nginx:1.26")
    await run_checked(sandbox, tool_env, "argo_promote", args(name))
    verdict = await run_checked(sandbox, tool_env, "argo_pause", args(name))
    assert verdict.text.startswith("paused")
    assert read(sandbox, name)["spec"]["paused"] is True
    verdict = await run_checked(sandbox, tool_env, "argo_resume", args(name))
    rollout = read(sandbox, name)
    assert rollout["spec"]["paused"] is False
    # Resuming continues the canary to its next pause step (75%), where it stops again.
    assert rollout["status"]["currentStepIndex"] == 5
    assert "next pause step" in verdict.text


async def test_verify_of_resume_fails_while_still_paused_by_hand(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    name = make_rollout(sandbox, "manual", "nginx:1.25")
    await call(tool_env, "argo_pause", args(name))
    verdict = await call(tool_env, "argo_resume", args(name), "verify")
    assert not verdict.ok
    assert "still paused by spec.paused" in verdict.text


@pytest.mark.parametrize(
    ("tool", "extra", "reason"),
    [
        ("argo_pause", {}, "not paused"),
        ("argo_abort", {}, "not aborted"),
        ("argo_set_image", {"container": "steady", "image": "nginx:9"}, "nginx:1.25"),
        ("argo_restart", {}, "no new restart requested"),
    ],
)
async def test_verify_without_the_change_fails_at_once(
    tool_env: ToolEnv, stable: str, tool: str, extra: dict[str, Any], reason: str
) -> None:
    verdict = await call(tool_env, tool, args(stable, **extra), "verify")
    assert not verdict.ok
    assert reason in verdict.text


async def test_abort_marks_the_rollout_degraded_and_retry_restarts_it(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    name = canary(sandbox, "abort", "nginx:1.25", "nginx:1.26")
    await run_checked(sandbox, tool_env, "argo_abort", args(name))
    status = read(sandbox, name)["status"]
    assert status["abort"] is True
    assert status["phase"] == "Degraded"
    assert "RolloutAborted" in status["message"]
    assert status["currentStepIndex"] == 0
    got = await call(tool_env, "argo_get_rollout", args(name))
    assert got.data is not None
    assert got.data["canaryWeight"] == 0
    assert "Status:     Degraded" in got.text
    assert "Aborted:    true" in got.text
    await run_checked(sandbox, tool_env, "argo_retry", args(name))
    status = read(sandbox, name)["status"]
    assert status["abort"] is False
    assert (status["phase"], status["currentStepIndex"]) == ("Paused", 1)


async def test_set_image_starts_a_canary_of_a_new_revision(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    name = make_rollout(sandbox, "image", "nginx:1.25")
    verdict = await run_checked(
        sandbox, tool_env, "argo_set_image", args(name, container=name, image="nginx:1.27")
    )
    assert f"{name}=nginx:1.27" in verdict.text
    rollout = read(sandbox, name)
    assert image_of(rollout) == "nginx:1.27"
    assert rollout["status"]["stableRS"] != rollout["status"]["currentPodHash"]
    assert rollout["status"]["currentStepIndex"] == 1
    history = await call(tool_env, "argo_rollout_history", args(name))
    assert history.text.splitlines()[-1].startswith("2 ")


async def test_set_image_of_an_unknown_container_is_refused(
    sandbox: SandboxInfo, tool_env: ToolEnv, stable: str
) -> None:
    with pytest.raises(ToolFailed, match="no container 'nope'"):
        await call(tool_env, "argo_set_image", args(stable, container="nope", image="nginx:1"))
    assert image_of(read(sandbox, stable)) == "nginx:1.25"


async def test_restart_sets_restart_at_and_replaces_the_pods(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    name = make_rollout(sandbox, "restart", "nginx:1.25")
    old_pods = pod_names(sandbox, f"app={name}")
    await run_checked(sandbox, tool_env, "argo_restart", args(name))
    rollout = read(sandbox, name)
    assert rollout["spec"]["restartAt"]
    new_pods = pod_names(sandbox, f"app={name}")
    assert len(old_pods) == 4
    assert not old_pods & new_pods


async def test_undo_restores_the_previous_revisions_template(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    name = canary(sandbox, "undo", "nginx:1.25", "nginx:1.26")
    await run_checked(sandbox, tool_env, "argo_promote", args(name, full=True))
    # Revision 3 also adds a template annotation that revision 2 does not have.
    template = {
        "metadata": {"annotations": {"note": "1.27 only"}},
        "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]},
    }
    newer = kubectl(
        sandbox,
        *("patch", ROLLOUTS, name, "-n", NAMESPACE, "--type", "merge"),
        *("-p", json.dumps({"spec": {"template": template}})),
    )
    assert newer.returncode == 0, newer.stderr
    assert read(sandbox, name)["status"]["currentStepIndex"] == 1
    await run_checked(sandbox, tool_env, "argo_undo", args(name))
    rollout = read(sandbox, name)
    assert image_of(rollout) == "nginx:1.26"
    # A replace, not a merge: the newer revision's template annotation is gone too.
    assert "annotations" not in rollout["spec"]["template"]["metadata"]
    # Back to the stable revision: Argo skips the steps and is healthy at once.
    assert rollout["status"]["phase"] == "Healthy"
    assert rollout["status"]["stableRS"] == rollout["status"]["currentPodHash"]
    await run_checked(sandbox, tool_env, "argo_undo", args(name, to_revision=1))
    assert image_of(read(sandbox, name)) == "nginx:1.25"


async def test_set_image_to_an_image_that_cannot_be_pulled_fails_and_offers_abort(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    name = make_rollout(sandbox, "nopull", "nginx:1.25")
    arguments = args(name, container=name, image="nginx:bad-canary")
    assert (await call(tool_env, "argo_set_image", arguments)).ok
    verdict = await call(tool_env, "argo_set_image", arguments, "verify")
    assert not verdict.ok
    found = verdict.data
    assert isinstance(found, Verification)
    assert found.verdict == "failed"
    assert found.summary.startswith(f"pod {name}-")
    assert PULL_FAILED.search(found.summary), found.summary
    assert found.rollback == RollbackCall(
        tool="argo_abort", args={"name": name, "namespace": NAMESPACE}
    )


async def test_a_good_set_image_verifies_once_the_canary_rests(
    sandbox: SandboxInfo, tool_env: ToolEnv
) -> None:
    name = make_rollout(sandbox, "goodpull", "nginx:1.25")
    arguments = args(name, container=name, image="nginx:1.26")
    assert (await call(tool_env, "argo_set_image", arguments)).ok
    verdict = await call(tool_env, "argo_set_image", arguments, "verify")
    assert verdict.ok, verdict.text
    assert verdict.data == Verification(
        verdict="verified", summary=f"template images: {name}=nginx:1.26 (phase Paused)"
    )
