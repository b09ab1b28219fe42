"""Every mutating tool's preview is side-effect free (issue 24: a drain's preview evicted pods).

Each mutating tool of `registry.all_tools()` (all four families) runs its `preview` recipe with
realistic arguments against the demo world of the quiet sandbox (real kubectl and helm, the
sandbox Jenkins), whose clock moves only when a request writes. Before and after, the test reads
the resourceVersion of every object of every kind (Helm's release Secrets and Argo Rollouts
among them), `helm list` of every release, and the Jenkins jobs, builds and queue: all must be
the same. A tool without an entry in `ARGS` fails the test (every mutation has a preview:
`define` refuses one without).
"""

from __future__ import annotations

import json
from typing import Any, Final

import httpx
import pytest

from opsgate.sandbox.helm_release import CHART_DIR
from opsgate.settings import JenkinsServer, Settings
from opsgate.tools import binaries, registry
from opsgate.tools.base import ConfiguredJenkins, ToolEnv
from tests.fixtures.sandbox import SandboxInfo, get_json, helm, kubectl, snapshot

pytestmark = pytest.mark.sandbox

CHART = str(CHART_DIR)
FRONTEND_POD: Final = "<a pod of deployment/frontend>"
HELM_REPOSITORIES: Final = (
    "apiVersion: ''\ngenerated: '0001-01-01T00:00:00Z'\n"
    "repositories:\n- name: demo\n  url: https://charts.example.com/demo\n"
)
ARGS: dict[str, dict[str, Any]] = {
    # kubectl
    "k8s_apply": {
        "namespace": "shop",
        "manifest": (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-config}\n"
            "data: {LOG_LEVEL: debug}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-flags}\ndata: {beta: 'on'}\n"
        ),
    },
    "k8s_patch": {
        "resource": "deployment/frontend",
        "namespace": "shop",
        "patch": '{"spec":{"replicas":4}}',
        "patch_type": "merge",
    },
    "k8s_label": {
        "resource": "deployment/frontend",
        "namespace": "shop",
        "labels": {"tier": "web"},
    },
    "k8s_annotate": {
        "resource": "deployment/api",
        "namespace": "shop",
        "annotations": {"owner": "payments"},
    },
    "k8s_set_image": {
        "resource": "deployment/worker",
        "namespace": "shop",
        "images": {"worker": "ghcr.io/opsgate-demo/worker:1.4.1"},
    },
    "k8s_scale": {"resource": "deployment/frontend", "namespace": "shop", "replicas": 5},
    "k8s_rollout_restart": {"resource": "deployment/frontend", "namespace": "shop"},
    "k8s_rollout_undo": {"resource": "deployment/worker", "namespace": "shop"},
    "k8s_delete": {"resource": "deployment/api", "namespace": "shop"},
    "k8s_cordon": {"node": "sandbox-worker-1"},
    "k8s_uncordon": {"node": "sandbox-worker-2"},
    "k8s_drain": {"node": "sandbox-worker-1", "timeout_s": 30},
    "k8s_run_pod": {
        "name": "debug",
        "namespace": "shop",
        "image": "busybox:1.36",
        "command": ["sleep", "3600"],
    },
    # The CronJob is created by the `cronjob` fixture (the demo world has none).
    "k8s_create_job_from_cronjob": {
        "cronjob": "nightly-report",
        "name": "nightly-report-manual",
        "namespace": "shop",
    },
    # The pod's generated name is read from the sandbox (`_resolved`).
    "k8s_exec": {"pod": FRONTEND_POD, "namespace": "shop", "command": ["touch", "/tmp/x"]},
    # helm
    "helm_install": {"release": "cache-copy", "namespace": "shop", "chart": CHART},
    "helm_upgrade": {
        "release": "cache",
        "namespace": "shop",
        "chart": CHART,
        "set": {"replicaCount": "2"},
    },
    "helm_rollback": {"release": "cache", "namespace": "shop"},
    "helm_uninstall": {"release": "cache", "namespace": "shop"},
    "helm_test": {"release": "cache", "namespace": "shop"},
    "helm_dependency_build": {"chart": CHART},
    # `demo` is written into the tool env's helm configuration (`tool_env`); no network.
    "helm_repo_add": {"name": "other", "url": "https://charts.example.com/other"},
    "helm_repo_update": {"names": ["demo"]},
    "helm_repo_remove": {"name": "demo"},
    # argo
    "argo_promote": {"name": "checkout", "namespace": "shop"},
    "argo_pause": {"name": "checkout", "namespace": "shop"},
    "argo_resume": {"name": "checkout", "namespace": "shop"},
    "argo_abort": {"name": "checkout", "namespace": "shop"},
    "argo_retry": {"name": "checkout", "namespace": "shop"},
    "argo_set_image": {
        "name": "checkout",
        "namespace": "shop",
        "container": "checkout",
        "image": "ghcr.io/opsgate-demo/checkout:3.3.0",
    },
    "argo_restart": {"name": "checkout", "namespace": "shop"},
    "argo_undo": {"name": "checkout", "namespace": "shop"},
    "argo_return_to_step": {"name": "checkout", "namespace": "shop", "step": 1},
    # jenkins
    "jenkins_trigger_build": {
        "server": "sandbox",
        "job": "shop-build",
        "parameters": {"BRANCH": "release-1.5", "ENV": "staging"},
    },
    "jenkins_stop_build": {"server": "sandbox", "job": "shop-deploy", "build": 5},
    "jenkins_set_build_description": {
        "server": "sandbox",
        "job": "shop-deploy",
        "build": 5,
        "description": "rolled back by hand",
    },
}
TOOLS = registry.all_tools()
MUTATING = sorted(name for name, tool in TOOLS.items() if not tool.annotations.read_only)
JENKINS_TREE = (
    "jobs[fullName,nextBuildNumber,inQueue,buildable,description,"
    "builds[number,building,result,description],"
    "jobs[fullName,nextBuildNumber,inQueue,buildable,builds[number,building,result,description]]]"
)


@pytest.fixture(scope="module")
def tool_env(quiet_sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> ToolEnv:
    """A `ToolEnv` built as the server builds one, with the sandbox Jenkins as `sandbox`."""
    assert quiet_sandbox.jenkins_url is not None
    jenkins = JenkinsServer.model_validate(
        {
            "url": quiet_sandbox.jenkins_url,
            "user": quiet_sandbox.jenkins_user or "",
            "token": quiet_sandbox.jenkins_token or "",
        }
    )
    settings = Settings(
        kubeconfig=quiet_sandbox.kubeconfig,
        default_context=quiet_sandbox.context,
        tools_dir=quiet_sandbox.kubectl.parent,
        command_timeout_s=60,
        data_dir=tmp_path_factory.mktemp("previews-opsgate"),
        jenkins={"sandbox": jenkins},
    )
    home = {"PATH": "/usr/bin:/bin", "HOME": str(quiet_sandbox.home), "LANG": "C.UTF-8"}
    runner = binaries.runner_from_settings(settings, inherited=home)
    env = binaries.tool_env_from_settings(
        settings, runner, jenkins=ConfiguredJenkins(settings.jenkins), search_path=""
    )
    assert env.helm_home is not None
    (env.helm_home / "config").mkdir(parents=True)
    (env.helm_home / "config" / "repositories.yaml").write_text(HELM_REPOSITORIES)
    return env


def _resolved(sandbox: SandboxInfo, args: dict[str, Any]) -> dict[str, Any]:
    """`args` with a placeholder pod name replaced by a real one."""
    if args.get("pod") != FRONTEND_POD:
        return args
    pods = get_json(sandbox, "pods", "-n", "shop", "-l", "app=frontend")["items"]
    return {**args, "pod": pods[0]["metadata"]["name"]}


@pytest.fixture(scope="module")
def history(quiet_sandbox: SandboxInfo) -> None:
    """A second revision of the Helm release `cache`, so its rollback has one to go back to."""
    upgraded = helm(
        quiet_sandbox, "upgrade", "cache", CHART, "-n", "shop", "--set", "maxMemory=512mb"
    )
    assert upgraded.returncode == 0, upgraded.stderr


@pytest.fixture(scope="module")
def cronjob(quiet_sandbox: SandboxInfo) -> None:
    """A CronJob in `shop` for `k8s_create_job_from_cronjob` to run a Job of."""
    manifest = (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly-report, namespace: shop}\n"
        "spec:\n  schedule: '30 2 * * *'\n  jobTemplate:\n    spec:\n      template:\n"
        "        spec:\n          restartPolicy: Never\n"
        "          containers: [{name: report, image: 'busybox:1.36'}]\n"
    )
    applied = kubectl(quiet_sandbox, "apply", "-f", "-", stdin=manifest)
    assert applied.returncode == 0, applied.stderr


def _jenkins_state(sandbox: SandboxInfo) -> Any:
    assert sandbox.jenkins_url is not None
    auth = (sandbox.jenkins_user or "", sandbox.jenkins_token or "")
    with httpx.Client(base_url=sandbox.jenkins_url, auth=auth, timeout=10) as client:
        jobs = client.get("api/json", params={"tree": JENKINS_TREE})
        queue = client.get("queue/api/json", params={"tree": "items[id,task[name],why]"})
        jobs.raise_for_status()
        queue.raise_for_status()
        return {"jobs": jobs.json()["jobs"], "queue": queue.json()["items"]}


def _releases(sandbox: SandboxInfo) -> Any:
    every = (
        "--deployed",
        "--failed",
        "--pending",
        "--superseded",
        "--uninstalled",
        "--uninstalling",
    )
    listed = helm(sandbox, "list", "--all-namespaces", *every, "--output", "json")
    assert listed.returncode == 0, listed.stderr
    return sorted(
        (r["namespace"], r["name"], r["revision"], r["status"], r["chart"])
        for r in json.loads(listed.stdout)
    )


def test_every_mutating_tool_has_preview_arguments() -> None:
    assert {"kubectl", "helm", "argo", "jenkins"} <= {tool.family for tool in TOOLS.values()}
    missing = [name for name in MUTATING if name not in ARGS]
    stale = [name for name in ARGS if name not in MUTATING]
    assert (missing, stale) == ([], [])


@pytest.mark.parametrize("name", MUTATING)
async def test_the_preview_changes_nothing(
    name: str, tool_env: ToolEnv, quiet_sandbox: SandboxInfo, history: None, cronjob: None
) -> None:
    if name not in ARGS:
        pytest.fail(f"{name!r} is a mutating tool without preview arguments in ARGS")
    args, tool = ARGS[name], TOOLS[name]
    assert tool.preview is not None, f"{name!r} has no preview"
    params = tool.parse(_resolved(quiet_sandbox, args))
    objects, releases = snapshot(quiet_sandbox), _releases(quiet_sandbox)
    jenkins = _jenkins_state(quiet_sandbox)

    output = await tool.preview(params, tool_env)

    assert output.ok, output.text
    assert objects.changes(snapshot(quiet_sandbox)) == []
    assert _releases(quiet_sandbox) == releases
    assert _jenkins_state(quiet_sandbox) == jenkins
