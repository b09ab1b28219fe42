"""helm_lint, helm_dependency_build, helm_test and helm_template's `validate`, with the real
bundled helm against the sandbox.

The charts are written here in the shape public charts have: an umbrella chart with a
`file://` dependency (as monorepos vendor a library chart), and a chart whose `templates/tests/`
holds a `helm.sh/hook: test` Job that checks the service answers (what `helm create` scaffolds,
as a Job rather than a bare pod). Nothing is fetched from a network.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from opsgate.tools.base import ToolEnv
from tests.fixtures.sandbox import SandboxInfo, helm, kubectl
from tests.tools.fakes import ScriptedRunner, env_with
from tests.tools.helm.helpers import call

pytestmark = [pytest.mark.sandbox]

LIBRARY = {
    "Chart.yaml": "apiVersion: v2\nname: common\nversion: 1.4.0\n",
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-common\n"
        "data:\n  owner: platform\n"
    ),
}
UMBRELLA = {
    "Chart.yaml": (
        "apiVersion: v2\nname: storefront\nversion: 0.3.0\n"
        "dependencies:\n  - name: common\n    version: 1.4.0\n    repository: file://../common\n"
    ),
    "values.yaml": "replicaCount: 1\n",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
""",
}
TESTED = {
    "Chart.yaml": "apiVersion: v2\nname: hello\nversion: 0.1.0\n",
    "templates/configmap.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        "data:\n  greeting: hello\n"
    ),
    "templates/tests/test-connection.yaml": """apiVersion: batch/v1
kind: Job
metadata:
  name: "{{ .Release.Name }}-test-connection"
  annotations:
    "helm.sh/hook": test
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: wget
          image: busybox:1.36
          command: ['cat', '/etc/hostname']  # the chart has no Service for `wget` to reach
""",
}


def write_chart(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def umbrella(tmp_path: Path) -> Path:
    write_chart(tmp_path / "common", LIBRARY)
    return write_chart(tmp_path / "storefront", UMBRELLA)


async def test_lint_passes_a_good_chart_and_names_what_is_wrong_with_a_bad_one(
    helm_env: ToolEnv, tmp_path: Path
) -> None:
    good = write_chart(tmp_path / "hello", TESTED)
    linted = await call(helm_env, "helm_lint", {"chart": str(good)})
    assert linted.ok, linted.text
    assert "1 chart(s) linted, 0 chart(s) failed" in linted.text
    broken = write_chart(
        tmp_path / "broken",
        {**TESTED, "templates/configmap.yaml": "kind: ConfigMap\nmetadata: {{ .Values.x \n"},
    )
    refused = await call(helm_env, "helm_lint", {"chart": str(broken), "strict": True})
    assert not refused.ok
    assert "templates/configmap.yaml" in refused.text
    assert "1 chart(s) failed" in refused.text


async def test_dependency_build_previews_downloads_and_verifies_the_archives(
    helm_env: ToolEnv, umbrella: Path
) -> None:
    args = {"chart": str(umbrella)}
    preview = await call(helm_env, "helm_dependency_build", args, "preview")
    assert preview.ok, preview.text
    assert preview.data.state == "changes"
    assert "common 1.4.0 from file://../common: missing" in preview.text
    assert not (umbrella / "charts").exists()
    assert not (await call(helm_env, "helm_dependency_build", args, "verify")).ok

    built = await call(helm_env, "helm_dependency_build", args)
    assert built.ok, built.text
    assert (umbrella / "charts" / "common-1.4.0.tgz").is_file()
    assert (umbrella / "Chart.lock").is_file()
    verified = await call(helm_env, "helm_dependency_build", args, "verify")
    assert verified.ok, verified.text
    assert verified.data.summary == f"all 1 dependencies of {umbrella} are in its charts/ directory"
    again = await call(helm_env, "helm_dependency_build", args, "preview")
    assert again.data.state == "no_change"


async def test_helm_test_runs_the_test_hook_job_and_the_verify_reads_its_phase(
    sandbox: SandboxInfo, helm_env: ToolEnv, tmp_path: Path
) -> None:
    chart = write_chart(tmp_path / "hello", TESTED)
    namespace = f"helmtest-{uuid.uuid4().hex[:8]}"
    installed = helm(sandbox, "install", "hello", str(chart), "-n", namespace, "--create-namespace")
    assert installed.returncode == 0, installed.stderr
    args = {"release": "hello", "namespace": namespace, "timeout_s": 60}

    preview = await call(helm_env, "helm_test", args, "preview")
    assert preview.ok, preview.text
    assert preview.data.state == "changes"
    assert "Job/hello-test-connection" in preview.text
    assert kubectl(sandbox, "get", "job", "hello-test-connection", "-n", namespace).returncode
    not_yet = await call(helm_env, "helm_test", args, "verify")
    assert not not_yet.ok
    assert "Job/hello-test-connection: not run" in not_yet.data.details

    tested = await call(helm_env, "helm_test", args)
    assert tested.ok, tested.text
    assert "Phase:          Succeeded" in tested.text
    verified = await call(helm_env, "helm_test", args, "verify")
    assert verified.ok, verified.text
    assert verified.data.summary == "all 1 test hooks of release 'hello' succeeded"


async def test_helm_test_of_a_release_without_tests_tests_nothing_and_says_so(
    sandbox: SandboxInfo, helm_env: ToolEnv, tmp_path: Path
) -> None:
    files = {name: text for name, text in TESTED.items() if "tests/" not in name}
    chart = write_chart(tmp_path / "plain", files)
    namespace = f"helmtest-{uuid.uuid4().hex[:8]}"
    installed = helm(sandbox, "install", "plain", str(chart), "-n", namespace, "--create-namespace")
    assert installed.returncode == 0, installed.stderr
    args = {"release": "plain", "namespace": namespace}
    preview = await call(helm_env, "helm_test", args, "preview")
    assert preview.data.state == "no_change"
    verified = await call(helm_env, "helm_test", args, "verify")
    assert verified.data.verdict == "not_verified"
    missing = await call(helm_env, "helm_test", {**args, "release": "absent"}, "preview")
    assert missing.data.state == "failed"


async def test_template_validate_checks_the_objects_against_the_cluster(
    helm_env: ToolEnv, tmp_path: Path
) -> None:
    """A kind the cluster does not serve renders offline but fails `validate` (helm 4 spells
    `--validate` as `--dry-run=server`)."""
    chart = write_chart(tmp_path / "hello", TESTED)
    args = {"release": "hello", "chart": str(chart), "namespace": "shop", "validate": True}
    rendered = await call(helm_env, "helm_template", args)
    assert rendered.ok, rendered.text
    assert "kind: ConfigMap" in rendered.text
    widget = "apiVersion: example.com/v9\nkind: Widget\nmetadata:\n  name: w\n"
    unknown = write_chart(tmp_path / "unknown", {**TESTED, "templates/widget.yaml": widget})
    offline = await call(
        helm_env, "helm_template", {**args, "chart": str(unknown), "validate": False}
    )
    assert offline.ok, offline.text
    refused = await call(helm_env, "helm_template", {**args, "chart": str(unknown)})
    assert not refused.ok
    assert "unable to build kubernetes objects" in refused.text
    assert refused.command is not None
    assert refused.command.endswith("--dry-run=server")


async def test_a_test_hook_that_failed_fails_the_verify_naming_it() -> None:
    """The sandbox's Jobs always complete, so `helm status` of a failed test run is scripted:
    its JSON in the shape helm 4 prints (hooks with `events` and `last_run.phase`)."""
    status = {
        "name": "hello",
        "hooks": [
            {"name": "hello-test-connection", "kind": "Job", "events": ["test"],
             "last_run": {"phase": "Failed"}},
            {"name": "hello-test-auth", "kind": "Pod", "events": ["test"],
             "last_run": {"phase": "Succeeded"}},
            {"name": "hello-migrate", "kind": "Job", "events": ["pre-upgrade"],
             "last_run": {"phase": "Failed"}},
        ],
    }  # fmt: skip
    runner = ScriptedRunner()
    runner.script(stdout=json.dumps(status))
    verified = await call(env_with(runner), "helm_test", {"release": "hello"}, "verify")
    assert not verified.ok
    assert verified.data.verdict == "failed"
    assert verified.data.summary == "1 of 2 test hooks of 'hello' did not succeed"
    assert verified.data.details == [
        "Job/hello-test-connection: Failed",
        "Pod/hello-test-auth: Succeeded",
    ]
    assert runner.calls[0].argv[5:] == ("status", "hello", "--output", "json")
