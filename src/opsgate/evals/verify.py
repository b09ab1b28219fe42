"""The verifier: did the run do the task? Judged from the cluster's state and the answer.

Called by `evals.suite` after each run. Each failed expectation is one line of the returned
list (empty: the task is done); the lines are the "reason" a report gives for a failure.
"""

from __future__ import annotations

import re

from opsgate.errors import truncate
from opsgate.evals.cluster import Sandbox
from opsgate.evals.runner import Transcript
from opsgate.evals.scenario import Check, Scenario

RAN = frozenset({"succeeded", "verified", "not_verified"})
"""Call statuses that mean the call ran and did not fail."""


async def _check(sandbox: Sandbox, check: Check) -> str | None:
    args = ["get", check.get]
    if check.namespace:
        args += ["-n", check.namespace]
    if check.jsonpath:
        args += ["-o", f"jsonpath={check.jsonpath}"]
    result = await sandbox.kubectl(args)
    where = f"{check.get}" + (f" in {check.namespace!r}" if check.namespace else "")
    if not check.exists:
        if result.exit_code == 0:
            return f"{where} still exists"
        return None if "NotFound" in result.stderr else f"{where}: {truncate(result.stderr, 200)}"
    if result.exit_code != 0:
        return f"{where} could not be read: {truncate(result.stderr.strip(), 200)}"
    value = result.stdout.strip()
    if check.equals is not None and value != check.equals:
        return f"{where} {check.jsonpath}: {truncate(value, 200)!r}, expected {check.equals!r}"
    if check.matches is not None and not re.search(check.matches, value):
        return (
            f"{where} {check.jsonpath}: {truncate(value, 200)!r} does not match {check.matches!r}"
        )
    return None


async def verify(scenario: Scenario, transcript: Transcript, sandbox: Sandbox) -> list[str]:
    """What the run failed to achieve, one line each (empty: the task is done)."""
    expected = scenario.verify
    failures: list[str] = []
    if transcript.run_status not in expected.run_status:
        why = f" ({truncate(transcript.reason, 300)})" if transcript.reason else ""
        wanted = " or ".join(expected.run_status)
        failures.append(f"the run ended {transcript.run_status!r}{why}, expected {wanted}")
    for check in expected.checks:
        failure = await _check(sandbox, check)
        if failure:
            failures.append(failure)
    for read in expected.reads:
        result = await sandbox.kubectl(read.kubectl)
        command = "kubectl " + " ".join(read.kubectl)
        if result.exit_code != read.exit_code:
            failures.append(f"{command!r} exited {result.exit_code}, expected {read.exit_code}")
        elif read.matches and not re.search(read.matches, result.stdout + result.stderr):
            failures.append(f"{command!r} printed nothing matching {read.matches!r}")
    for pattern in expected.answer_matches:
        if not re.search(pattern, transcript.answer, re.IGNORECASE):
            failures.append(f"the answer does not mention {pattern!r}")
    for wanted_call in expected.must_call:
        if not any(
            c.status in RAN and wanted_call.matches(c.tool, c.args) for c in transcript.calls
        ):
            failures.append(f"no successful call matching {wanted_call.tool!r} {wanted_call.args}")
    for evidence in expected.evidence:
        if not any(
            c.status in RAN
            and re.fullmatch(evidence.tool, c.tool)
            and re.search(evidence.matches, c.output)
            for c in transcript.calls
        ):
            failures.append(f"no {evidence.tool!r} call showed {evidence.matches!r}")
    return failures
