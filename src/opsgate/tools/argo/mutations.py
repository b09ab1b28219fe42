"""The Argo Rollouts mutations: promote, pause, resume, abort, retry, set image, restart, undo.

Each is a list of kubectl patches on the `rollouts.argoproj.io` object, the same ones the
`kubectl argo rollouts` plugin sends, so no Argo binary is needed. Every tool has a preview
(the same patches with `--dry-run=server`) and a verify recipe that reads the Rollout back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opsgate.domain.calls import ToolAnnotations
from opsgate.tools.argo import params as p
from opsgate.tools.argo import rollouts
from opsgate.tools.argo.kube import (
    ROLLOUTS,
    PatchType,
    get_argv,
    get_json,
    patch,
    patch_argv,
    rollout_and_replicasets,
)
from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from opsgate.tools.kubectl.argv import Target

VERIFY_TIMEOUT_S = 20.0
VERIFY_INTERVAL_S = 0.5
RESTART_SLACK_S = 60.0
"""How far before the verify a `spec.restartAt` may lie and still be this restart's."""
PAUSE_SLACK_S = 2.0
"""Pause condition times have whole seconds: a pause this much older than the verify is old."""


@dataclass(frozen=True)
class Patch:
    body: Any
    patch_type: PatchType = "merge"
    status: bool = False
    """Sent to the status subresource (as the plugin does for promote/abort/retry)."""


Planner = Callable[[Any, ToolEnv, Target], Awaitable[list[Patch]]]
Verdict = tuple[bool | None, str]
"""(True: done; False: failed, and no controller will change that; None: not yet), summary."""
Check = Callable[[Any, dict[str, Any], datetime], Verdict]
"""(params, rollout read back, when the verify started) -> verdict."""


def _argv(target: Target, params: Any, item: Patch, *, dry_run: bool) -> list[str]:
    return patch_argv(
        target,
        params.name,
        params.namespace,
        rollouts.dumps(item.body),
        patch_type=item.patch_type,
        status=item.status,
        dry_run=dry_run,
    )


def _runner(planner: Planner, *, dry_run: bool) -> Callable[[Any, ToolEnv], Awaitable[ToolOutput]]:
    async def run(params: Any, env: ToolEnv) -> ToolOutput:
        target = Target.of(env, params.context)
        items = await planner(params, env, target)
        texts: list[str] = []
        last: ToolOutput | None = None
        for item in items:
            last = await patch(env, _argv(target, params, item, dry_run=dry_run))
            where = "status" if item.status else "spec"
            texts.append(f"{where} patch {rollouts.dumps(item.body)}: {last.text}")
            if not last.ok:
                return ToolOutput(ok=False, text="\n".join(texts), exit_code=last.exit_code)
        prefix = "would apply (server dry run):\n" if dry_run else ""
        return ToolOutput(
            ok=True,
            text=prefix + "\n".join(texts),
            exit_code=last.exit_code if last else 0,
            command=last.command if last else None,
        )

    return run


def _verifier(check: Check) -> Callable[[Any, ToolEnv], Awaitable[ToolOutput]]:
    async def verify(params: Any, env: ToolEnv) -> ToolOutput:
        target = Target.of(env, params.context)
        loop = asyncio.get_running_loop()
        since = datetime.now(UTC)
        deadline = loop.time() + VERIFY_TIMEOUT_S
        while True:
            rollout = await get_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
            ok, summary = check(params, rollout, since)
            # Only the controller's side can still change; a spec the patch did not set won't.
            phase = rollout.get("status", {}).get("phase", "Unknown")
            if ok is not None or loop.time() >= deadline:
                return ToolOutput(
                    ok=ok is True, text=f"{summary} (phase {phase})", data={"phase": phase}
                )
            await env.report(f"{summary} (phase {phase})")
            await asyncio.sleep(VERIFY_INTERVAL_S)

    return verify


def mutation(
    name: str,
    description: str,
    params: type[p.RolloutParams],
    planner: Planner,
    check: Check,
    *,
    destructive: bool = False,
    idempotent: bool = False,
) -> Tool:
    return Tool(
        name=name,
        family="argo",
        description=description,
        params=params,
        annotations=ToolAnnotations(
            read_only=False,
            destructive=destructive,
            idempotent=idempotent,
            open_world=False,
        ),
        run=_runner(planner, dry_run=False),
        preview=_runner(planner, dry_run=True),
        verify=_verifier(check),
    )


def _fixed(*items: Patch) -> Planner:
    async def plan(params: Any, env: ToolEnv, target: Target) -> list[Patch]:
        return list(items)

    return plan


async def _plan_promote(params: p.PromoteParams, env: ToolEnv, target: Target) -> list[Patch]:
    rollout = await get_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
    status_patch, spec_patch = rollouts.promote_patches(rollout, full=params.full)
    # Status first, as the plugin does: the spec patch could otherwise let the controller
    # act on a stale pause condition.
    items = [Patch(status_patch, status=True)] if status_patch else []
    return [*items, Patch(spec_patch)] if spec_patch else items


async def _plan_set_image(params: p.SetImageParams, env: ToolEnv, target: Target) -> list[Patch]:
    rollout = await get_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
    return [Patch(rollouts.set_image_patch(rollout, params.container, params.image), "json")]


async def _plan_restart(params: p.RolloutParams, env: ToolEnv, target: Target) -> list[Patch]:
    return [Patch(rollouts.restart_patch(datetime.now(UTC)))]


async def _plan_undo(params: p.UndoParams, env: ToolEnv, target: Target) -> list[Patch]:
    rollout, replicasets = await rollout_and_replicasets(env, target, params.name, params.namespace)
    return [Patch(rollouts.undo_patch(rollout, replicasets, params.to_revision), "json")]


def _time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _observed(rollout: dict[str, Any]) -> bool:
    """The controller has seen the latest spec (it reports observedGeneration as a string)."""
    observed = str(rollout.get("status", {}).get("observedGeneration", ""))
    return observed == str(rollout.get("metadata", {}).get("generation", ""))


def _check_promoted(params: p.PromoteParams, rollout: dict[str, Any], since: datetime) -> Verdict:
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


def _check_paused(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    if not rollout.get("spec", {}).get("paused"):
        return False, "not paused (spec.paused is not set)"
    if rollout.get("status", {}).get("phase") != "Paused":
        return None, "spec.paused set; the controller does not report Paused yet"
    return True, "paused"


def _check_resumed(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
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


def _check_aborted(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    status = rollout.get("status", {})
    if status.get("abort") is not True:
        return False, "not aborted (status.abort is not set)"
    if status.get("phase") != "Degraded":
        return None, "status.abort set; the controller does not report Degraded yet"
    return True, f"aborted: {status.get('message', 'traffic back on the stable revision')}"


def _check_retried(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    status = rollout.get("status", {})
    if status.get("abort"):
        return False, "still aborted (status.abort is set)"
    if status.get("phase") == "Degraded":
        return None, "abort cleared; the controller still reports Degraded"
    return True, f"retrying from the first step, now at step {status.get('currentStepIndex')}"


def _check_restarted(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    wanted = rollout.get("spec", {}).get("restartAt")
    at = _time(wanted)
    if at is None or at < since - timedelta(seconds=RESTART_SLACK_S):
        return False, f"no new restart requested (restartAt {wanted})"
    done = rollout.get("status", {}).get("restartedAt") == wanted
    return True, f"restartAt {wanted}; pods " + ("restarted" if done else "restarting")


def _check_undone(params: Any, rollout: dict[str, Any], since: datetime) -> Verdict:
    phase = rollout.get("status", {}).get("phase")
    now = " ".join(rollouts.images(rollout.get("spec", {}).get("template", {})))
    if not _observed(rollout) or phase in (None, "Degraded"):
        return None, f"template images: {now}; not settled yet"
    return True, f"template images: {now}"


def _check_image(params: p.SetImageParams, rollout: dict[str, Any], since: datetime) -> Verdict:
    wanted = f"{params.container}={params.image}"
    now = rollouts.images(rollout.get("spec", {}).get("template", {}))
    return wanted in now, f"template images: {' '.join(now)}"


TOOLS = [
    mutation(
        "argo_promote",
        "Promote an Argo Rollout: continue past the current pause/step, or with full=true skip "
        "all remaining steps and analysis and go to 100% at once.",
        p.PromoteParams,
        _plan_promote,
        _check_promoted,
    ),
    mutation(
        "argo_pause",
        "Pause an Argo Rollout where it is (spec.paused=true).",
        p.RolloutParams,
        _fixed(Patch({"spec": {"paused": True}})),
        _check_paused,
        idempotent=True,
    ),
    mutation(
        "argo_resume",
        "Resume a paused Argo Rollout (clears spec.paused and its pause conditions).",
        p.RolloutParams,
        _fixed(
            Patch({"status": {"pauseConditions": None}}, status=True),
            Patch({"spec": {"paused": False}}),
        ),
        _check_resumed,
        idempotent=True,
    ),
    mutation(
        "argo_abort",
        "Abort an Argo Rollout: scale the canary down and send all traffic back to the stable "
        "version. The rollout is marked Degraded until retried.",
        p.RolloutParams,
        _fixed(Patch({"status": {"abort": True}}, status=True)),
        _check_aborted,
        destructive=True,
        idempotent=True,
    ),
    mutation(
        "argo_retry",
        "Retry an aborted Argo Rollout from the first step.",
        p.RolloutParams,
        _fixed(Patch({"status": {"abort": False}}, status=True)),
        _check_retried,
    ),
    mutation(
        "argo_set_image",
        "Set a container's image in an Argo Rollout's pod template, starting a new canary.",
        p.SetImageParams,
        _plan_set_image,
        _check_image,
        idempotent=True,
    ),
    mutation(
        "argo_restart",
        "Restart an Argo Rollout's pods (spec.restartAt = now), one at a time.",
        p.RolloutParams,
        _plan_restart,
        _check_restarted,
    ),
    mutation(
        "argo_undo",
        "Roll an Argo Rollout back to an earlier revision's pod template (the previous one by "
        "default); check argo_rollout_history first.",
        p.UndoParams,
        _plan_undo,
        _check_undone,
        destructive=True,
    ),
]
