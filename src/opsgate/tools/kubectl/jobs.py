"""Verify of `k8s_create_job_from_cronjob`: the Job it created runs to completion.

Attached to the tool in `mutations.py`. The Job is read until its `Complete` condition holds
(verified), its `Failed` condition does (failed, with the Job's reason), or the verify's bound
passes; meanwhile its pods (by the Job's own selector) are checked with `tools.pods`, so an
image that cannot be pulled or a missing Secret fails it at once with the concrete reason.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opsgate.tools import pods, rollout
from opsgate.tools.base import ToolEnv, ToolOutput, Verification
from opsgate.tools.command import Target, namespace_args, read_json
from opsgate.tools.define import concluded
from opsgate.tools.kubectl import params as p
from opsgate.tools.kubectl.verifies import POLL_S


def _condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            found: dict[str, Any] = condition
            return found
    return None


def _failed(summary: str, details: list[str], name: str) -> ToolOutput:
    return concluded(
        Verification(
            verdict="failed",
            summary=summary,
            details=details,
            next_step=f"read the Job's pods (k8s_logs job/{name}), fix the cause, then create "
            "another Job from the CronJob",
        )
    )


async def verify_job_completed(params: p.CreateJobParams, env: ToolEnv) -> ToolOutput:
    """Verify of `k8s_create_job_from_cronjob`: wait (bounded) for the Job to complete; a
    failed Job, or a pod that cannot start, fails it at once with its reason."""
    target = Target.of(env, "kubectl", params.context)
    namespace = namespace_args(params.namespace)
    job_argv = [*target.head(), "get", "job", params.name, *namespace, "--output=json"]
    deadline = asyncio.get_running_loop().time() + env.verify_timeout_s
    while True:
        job = await read_json(env, job_argv)
        status = job.get("status") or {}
        if _condition(job, "Complete"):
            succeeded = status.get("succeeded", 0)
            summary = f"job/{params.name} completed ({succeeded} pod(s) succeeded)"
            return concluded(Verification(verdict="verified", summary=summary))
        failed = _condition(job, "Failed")
        if failed is not None:
            summary = f"job/{params.name} failed: {failed.get('reason', 'Failed')}"
            return _failed(summary, [str(failed.get("message", ""))], params.name)
        selector = rollout.selector_of(job)
        listed = await read_json(
            env, [*target.head(), "get", "pods", *namespace, f"--selector={selector}", "-o=json"]
        )
        problems = [found for pod in listed.get("items") or [] if (found := pods.problem(pod))]
        fatal = next((found for found in problems if found.fatal), None)
        if fatal is not None:
            evidence = await pods.explain(env, target, fatal, params.namespace)
            return _failed(fatal.line(), evidence[1:], params.name)
        if asyncio.get_running_loop().time() >= deadline:
            summary = (
                f"job/{params.name} had not completed after {env.verify_timeout_s:.0f} s "
                f"({status.get('active', 0)} active, {status.get('failed', 0)} failed pods)"
            )
            return _failed(summary, [found.line() for found in problems], params.name)
        await env.report(
            f"job/{params.name}: {status.get('active', 0)} active, "
            f"{status.get('succeeded', 0)} succeeded"
        )
        await asyncio.sleep(POLL_S)
