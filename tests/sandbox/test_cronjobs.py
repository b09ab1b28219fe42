"""Fidelity: CronJobs make Jobs when their schedule comes round, and keep their history.

A test cannot wait for the next minute, so it moves the CronJob's last run back through the
status subresource: the controller then owes the missed run at once, as after a pause.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.sandbox import SandboxInfo, get_json, kubectl

pytestmark = pytest.mark.sandbox

CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata: {{name: hello}}
spec:
  schedule: "* * * * *"
  suspend: {suspend}
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - {{name: hello, image: "busybox:1.36", command: [sh, -c, "date; echo Hello"]}}
          restartPolicy: OnFailure
"""


def _miss_runs(sandbox: SandboxInfo, namespace: str, minutes: int) -> None:
    then = (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    patched = kubectl(
        sandbox,
        "patch",
        "cronjob",
        "hello",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"lastScheduleTime": then}}),
    )
    assert patched.returncode == 0, patched.stderr


def test_missed_run_makes_a_job_that_completes(sandbox: SandboxInfo, namespace: str) -> None:
    made = kubectl(
        sandbox, "apply", "-n", namespace, "-f", "-", stdin=CRONJOB.format(suspend="false")
    )
    assert made.returncode == 0, made.stderr
    assert get_json(sandbox, "jobs", "-n", namespace)["items"] == []
    _miss_runs(sandbox, namespace, 3)
    jobs = get_json(sandbox, "jobs", "-n", namespace)["items"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job["metadata"]["name"].startswith("hello-")
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert job["status"]["succeeded"] == 1
    cronjob = get_json(sandbox, "cronjob", "hello", "-n", namespace)
    assert "lastSuccessfulTime" in cronjob["status"]
    events = kubectl(
        sandbox, "get", "events", "-n", namespace, "--field-selector", "involvedObject.kind=CronJob"
    ).stdout
    assert f"Created job {job['metadata']['name']}" in events


def test_suspended_cronjob_makes_nothing(sandbox: SandboxInfo, namespace: str) -> None:
    made = kubectl(
        sandbox, "apply", "-n", namespace, "-f", "-", stdin=CRONJOB.format(suspend="true")
    )
    assert made.returncode == 0, made.stderr
    _miss_runs(sandbox, namespace, 3)
    assert get_json(sandbox, "jobs", "-n", namespace)["items"] == []


def test_a_scheduled_minute_runs_once(sandbox: SandboxInfo, namespace: str) -> None:
    made = kubectl(
        sandbox, "apply", "-n", namespace, "-f", "-", stdin=CRONJOB.format(suspend="false")
    )
    assert made.returncode == 0, made.stderr
    for minutes in (9, 5, 3):
        # Only the latest missed minute is run, and only once however often it is owed.
        _miss_runs(sandbox, namespace, minutes)
    assert len(get_json(sandbox, "jobs", "-n", namespace)["items"]) == 1
