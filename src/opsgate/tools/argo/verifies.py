"""Verify recipes of the Argo Rollouts mutations: the Rollout read back until the change shows.

Attached to the tools in `mutations.py`. Each check decides from one read of the Rollout
whether the change took (True), cannot take any more (False) or may still (None); the
verifier polls, bounded by `VERIFY_TIMEOUT_S`. Tools that bring up pods of a revision also
have those pods read: one that cannot start fails the verification at once with its reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from opsgate.tools import pods
from opsgate.tools.argo import params as p
from opsgate.tools.argo import rollouts
from opsgate.tools.argo.kube import ROLLOUTS, get_argv, target
from opsgate.tools.base import (
    RollbackCall,
    ToolEnv,
    ToolFn,
    ToolOutput,
    Verification,
    VerifyVerdict,
)
from opsgate.tools.command import Target, read_json
from opsgate.tools.define import concluded

VERIFY_TIMEOUT_S = 20.0
VERIFY_INTERVAL_S = 0.5
RESTART_SLACK_S = 60.0
"""How far before the verify a `spec.restartAt` may lie and still be this restart's."""
PAUSE_SLACK_S = 2.0
"""Pause condition times have whole seconds: a pause this much older than the verify is old."""

Verdict = tuple[bool | None, str]
"""(True: done; False: failed, and no controller will change that; None: not yet), summary."""
Check = Callable[[Any, dict[str, Any], datetime], Verdict]
"""(params, rollout read back, when the verify started) -> verdict."""


def verifier(check: Check, *, starts_pods: bool = False) -> ToolFn:
    """A verify reading the Rollout back (bounded) until `check` decides.

    With `starts_pods` (the call brings up pods of a revision), the pods of the Rollout's
    current revision are read too: one that cannot start (`tools.pods`) fails it at once, and
    a passing check waits until the controller stops `Progressing`; a failure offers
    `argo_abort`, which sends the traffic back to the stable revision.
    """

    async def verify(params: Any, env: ToolEnv) -> ToolOutput:
        where_to = target(env, params.context)
        loop = asyncio.get_running_loop()
        since = datetime.now(UTC)
        deadline = loop.time() + VERIFY_TIMEOUT_S
        while True:
            argv = get_argv(where_to, ROLLOUTS, params.name, params.namespace)
            rollout = await read_json(env, argv)
            ok, summary = check(params, rollout, since)
            # Only the controller's side can still change; a spec the patch did not set won't.
            phase = rollout.get("status", {}).get("phase", "Unknown")
            text = f"{summary} (phase {phase})"
            if starts_pods and ok is not False:
                failing = await _failing_pod(env, where_to, params, rollout)
                if failing is not None:
                    return _pods_failed(params, failing, text)
                if ok and phase == "Progressing":
                    ok = None
            if ok is not None:
                verdict: VerifyVerdict = "verified" if ok else "failed"
                return concluded(Verification(verdict=verdict, summary=text))
            if loop.time() >= deadline:
                summary = f"not settled after {VERIFY_TIMEOUT_S:g} s: {text}"
                return concluded(Verification(verdict="failed", summary=summary))
            await env.report(text)
            await asyncio.sleep(VERIFY_INTERVAL_S)

    return verify


async def _failing_pod(
    env: ToolEnv, where_to: Target, params: Any, rollout: dict[str, Any]
) -> list[str] | None:
    """The evidence of a pod of the current revision that cannot start, if there is one."""
    pod_hash = rollout.get("status", {}).get("currentPodHash")
    if not pod_hash:
        return None
    argv = get_argv(
        where_to, "pods", None, params.namespace, selector=f"{rollouts.HASH_LABEL}={pod_hash}"
    )
    listed = await read_json(env, argv)
    found = [problem for problem in map(pods.problem, listed.get("items") or []) if problem]
    fatal = next((problem for problem in found if problem.fatal), None)
    return await pods.explain(env, where_to, fatal, params.namespace) if fatal else None


def _pods_failed(params: Any, evidence: list[str], text: str) -> ToolOutput:
    abort: dict[str, Any] = {"name": params.name}
    if params.namespace is not None:
        abort["namespace"] = params.namespace
    if params.context is not None:
        abort["context"] = params.context
    return concluded(
        Verification(
            verdict="failed",
            summary=evidence[0],
            details=[*evidence[1:], text],
            next_step=f"fix the cause, or argo_abort {params.name!r} to send all traffic back to "
            "the stable revision",
            rollback=RollbackCall(tool="argo_abort", args=abort),
        )
    )


def _time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _observed(rollout: dict[str, Any]) -> bool:
    """The controller has seen the latest spec (it reports observedGeneration as a string)."""
    observed = str(rollout.get("status", {}).get("observedGeneration", ""))
    return observed == str(rollout.get("metadata", {}).get("generation", ""))


def check_promoted(params: p.PromoteParams, rollout: dict[str, Any], since: datetime) -> Verdict:
    status = rollout.get("status", {})
    step = f"step {status.get('currentStepIndex')}/{len(rollouts.steps(rollout))}"
    if params.full:
        if status.get("phase") == "Healthy" and status.get("stableRS") == status.get(
            "currentPodHash"
        ):
            return True, "promoted to full: the new revision is stable"
        if status.get("promoteFull"):
            return True, "promoting to full (replicas still moving)"
        return None, f"not promoted to full yet, at {step}"
    if rollout.get("spec", {}).get("paused"):
        return False, f"still paused by spec.paused at {step}"
    if status.get("abort") is True:
        return False, f"aborted at {step}"
    return True, f"promoted, now at {step}"


def check_at_step(params: p.StepParams, rollout: dict[str, Any], since: datetime) -> Verdict:
    status = rollout.get("status", {})
    at = status.get("currentStepIndex")
    if status.get("currentPodHash") == status.get("stableRS"):
        return False, f"fully promoted: not at step {params.step}"
    if at == params.step:
        paused = " and paused" if status.get("pauseConditions") else ""
        return True, f"back at step {at}/{len(rollouts.steps(rollout))}{paused}"
    return None, f"at step {at}, not yet back at step {params.step}"


def check_paused(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    if not rollout.get("spec", {}).get("paused"):
        return False, "not paused (spec.paused is not set)"
    if rollout.get("status", {}).get("phase") != "Paused":
        return None, "spec.paused set; the controller does not report Paused yet"
    return True, "paused"


def check_resumed(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    """Resumed: not paused by hand, and any pause is a new one the rollout reached since.

    A canary that continues may stop at its next `pause` step at once, which is success.
    """
    status = rollout.get("status", {})
    step = f"step {status.get('currentStepIndex')}/{len(rollouts.steps(rollout))}"
    if rollout.get("spec", {}).get("paused"):
        return False, f"still paused by spec.paused at {step}"
    cutoff = since - timedelta(seconds=PAUSE_SLACK_S)
    for condition in status.get("pauseConditions") or []:
        started = _time(condition.get("startTime"))
        if started is None or started < cutoff:
            return None, f"still paused ({condition.get('reason')}) at {step}"
    if status.get("pauseConditions"):
        return True, f"resumed; now paused at the next pause step, {step}"
    return True, f"running at {step}"


def check_aborted(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    status = rollout.get("status", {})
    if status.get("abort") is not True:
        return False, "not aborted (status.abort is not set)"
    if status.get("phase") != "Degraded":
        return None, "status.abort set; the controller does not report Degraded yet"
    return True, f"aborted: {status.get('message', 'traffic back on the stable revision')}"


def check_retried(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    status = rollout.get("status", {})
    if status.get("abort"):
        return False, "still aborted (status.abort is set)"
    if status.get("phase") == "Degraded":
        return None, "abort cleared; the controller still reports Degraded"
    return True, f"retrying from the first step, now at step {status.get('currentStepIndex')}"


def check_restarted(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    wanted = rollout.get("spec", {}).get("restartAt")
    at = _time(wanted)
    if at is None or at < since - timedelta(seconds=RESTART_SLACK_S):
        return False, f"no new restart requested (restartAt {wanted})"
    done = rollout.get("status", {}).get("restartedAt") == wanted
    return True, f"restartAt {wanted}; pods " + ("restarted" if done else "restarting")


def check_undone(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    phase = rollout.get("status", {}).get("phase")
    now = " ".join(rollouts.images(rollout.get("spec", {}).get("template", {})))
    if not _observed(rollout) or phase in (None, "Degraded"):
        return None, f"template images: {now}; not settled yet"
    return True, f"template images: {now}"


def check_image(params: p.SetImageParams, rollout: dict[str, Any], since: datetime) -> Verdict:
    wanted = f"{params.container}={params.image}"
    now = rollouts.images(rollout.get("spec", {}).get("template", {}))
    return wanted in now, f"template images: {' '.join(now)}"
