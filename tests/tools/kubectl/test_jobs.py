"""`k8s_create_job_from_cronjob` against the sandbox with the real kubectl: preview (a
server-side dry run that creates nothing), the Job created, and the verify waiting for it.

The CronJob is in the shape of the public examples (Kubernetes docs' `hello`, a nightly
report): a schedule, a job template with one container and `restartPolicy: Never`.
"""

from __future__ import annotations

import pytest

from opsgate.tools.base import ToolEnv
from tests.fixtures.sandbox import SandboxInfo, kubectl
from tests.tools.kubectl.helpers import call

pytestmark = pytest.mark.sandbox


def cronjob(namespace: str, name: str, image: str) -> str:
    return f"""apiVersion: batch/v1
kind: CronJob
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  schedule: "30 2 * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: report
              image: {image}
              command: [sh, -c, "date; echo report done"]
"""


@pytest.fixture
def cronjobs(sandbox: SandboxInfo, namespace: str) -> str:
    """A fresh namespace holding a CronJob that works and one whose image cannot be pulled."""
    manifest = "---\n".join(
        [
            cronjob(namespace, "nightly-report", "busybox:1.36"),
            cronjob(namespace, "broken-report", "busybox:bad-tag"),
        ]
    )
    applied = kubectl(sandbox, "apply", "-f", "-", stdin=manifest)
    assert applied.returncode == 0, applied.stderr
    return namespace


def jobs(sandbox: SandboxInfo, namespace: str) -> str:
    listed = kubectl(sandbox, "get", "jobs", "-n", namespace, "-o", "name")
    assert listed.returncode == 0, listed.stderr
    return listed.stdout.strip()


async def test_a_job_from_a_cronjob_previews_runs_and_completes(
    tool_env: ToolEnv, sandbox: SandboxInfo, cronjobs: str
) -> None:
    args = {"cronjob": "nightly-report", "name": "nightly-report-manual-1", "namespace": cronjobs}
    preview = await call(tool_env, "k8s_create_job_from_cronjob", args, "preview")
    assert preview.ok, preview.text
    assert preview.data.state == "changes"
    assert "kind: Job" in preview.text
    assert "cronjob.kubernetes.io/instantiate: manual" in preview.text
    assert jobs(sandbox, cronjobs) == ""

    created = await call(tool_env, "k8s_create_job_from_cronjob", args)
    assert created.ok, created.text
    assert "job.batch/nightly-report-manual-1 created" in created.text
    verified = await call(tool_env, "k8s_create_job_from_cronjob", args, "verify")
    assert verified.ok, verified.text
    assert verified.data.summary == "job/nightly-report-manual-1 completed (1 pod(s) succeeded)"

    again = await call(tool_env, "k8s_create_job_from_cronjob", args, "preview")
    assert again.data.state == "failed"
    assert "already exists" in again.text


async def test_a_job_whose_image_cannot_be_pulled_fails_its_verify_with_the_reason(
    tool_env: ToolEnv, cronjobs: str
) -> None:
    args = {"cronjob": "broken-report", "name": "broken-report-manual", "namespace": cronjobs}
    created = await call(tool_env, "k8s_create_job_from_cronjob", args)
    assert created.ok, created.text
    verified = await call(tool_env, "k8s_create_job_from_cronjob", args, "verify")
    assert not verified.ok
    assert verified.data.verdict == "failed"
    assert "ErrImagePull" in verified.data.summary or "ImagePullBackOff" in verified.data.summary


async def test_a_missing_cronjob_fails_the_preview(tool_env: ToolEnv, cronjobs: str) -> None:
    args = {"cronjob": "absent", "name": "absent-manual", "namespace": cronjobs}
    preview = await call(tool_env, "k8s_create_job_from_cronjob", args, "preview")
    assert preview.data.state == "failed"
    assert 'cronjobs.batch "absent" not found' in preview.text
