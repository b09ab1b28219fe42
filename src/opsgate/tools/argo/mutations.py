"""The Argo Rollouts mutations: promote, pause, resume, abort, retry, set image, restart, undo.

Each is a list of kubectl patches on the `rollouts.argoproj.io` object, the same ones the
`kubectl argo rollouts` plugin sends, so no Argo binary is needed. A tool's planner (named
after the tool, its docstring the description) decides the patches; `Patches` sends them, or
with `dry_run` sends them as a server-side dry run for the preview. Every tool has a verify
recipe that reads the Rollout back.
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
    target,
)
from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from opsgate.tools.command import Target, display
from opsgate.tools.define import define, previewed

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


@dataclass(frozen=True)
class Patches:
    """An Argo mutation: `fn` plans the patches, `run` sends them in order (stopping at the
    first that fails), `preview` sends them as a server-side dry run."""

    fn: Planner

    async def run(self, params: Any, env: ToolEnv) -> ToolOutput:
        return await self._send(params, env, dry_run=False)

    async def preview(self, params: Any, env: ToolEnv) -> ToolOutput:
        output = await self._send(params, env, dry_run=True)
        if not output.ok:
            return previewed(output, "failed")
        # kubectl says "patched (no change)" when the object would stay as it is.
        lines = output.text.splitlines()[1:]
        unchanged = bool(lines) and all("(no change)" in line for line in lines)
        return previewed(output, "no_change" if unchanged else "changes")

    async def command(self, params: Any, env: ToolEnv) -> str:
        where_to = target(env, params.context)
        items = await self.fn(params, env, where_to)
        return "\n".join(display(_argv(where_to, params, item, dry_run=False)) for item in items)

    async def _send(self, params: Any, env: ToolEnv, *, dry_run: bool) -> ToolOutput:
        where_to = target(env, params.context)
        items = await self.fn(params, env, where_to)
        texts: list[str] = []
        last: ToolOutput | None = None
        for item in items:
            last = await patch(env, _argv(where_to, params, item, dry_run=dry_run))
            where = "status" if item.status else "spec"
            texts.append(f"{where} patch {rollouts.dumps(item.body)}: {last.text}")
            if not last.ok:
                return ToolOutput(ok=False, text="\n".join(texts), exit_code=last.exit_code)
        prefix = "would apply (server dry run):" if dry_run else ""
        return ToolOutput(
            ok=True,
            text="\n".join([prefix, *texts] if dry_run else texts),
            exit_code=last.exit_code if last else 0,
            command=last.command if last else None,
        )


def _verifier(check: Check) -> Callable[[Any, ToolEnv], Awaitable[ToolOutput]]:
    async def verify(params: Any, env: ToolEnv) -> ToolOutput:
        where_to = target(env, params.context)
        loop = asyncio.get_running_loop()
        since = datetime.now(UTC)
        deadline = loop.time() + VERIFY_TIMEOUT_S
        while True:
            argv = get_argv(where_to, ROLLOUTS, params.name, params.namespace)
            rollout = await get_json(env, argv)
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


# Planners: one per tool, named after it; the docstring is what the model reads.


async def argo_promote(params: p.PromoteParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Promote an Argo Rollout: continue past the current pause/step, or with full=true skip all
    remaining steps and analysis and go to 100% at once."""
    rollout = await get_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
    status_patch, spec_patch = rollouts.promote_patches(rollout, full=params.full)
    # Status first, as the plugin does: the spec patch could otherwise let the controller
    # act on a stale pause condition.
    items = [Patch(status_patch, status=True)] if status_patch else []
    return [*items, Patch(spec_patch)] if spec_patch else items


async def argo_pause(params: p.RolloutParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Pause an Argo Rollout where it is (spec.paused=true)."""
    return [Patch({"spec": {"paused": True}})]


async def argo_resume(params: p.RolloutParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Resume a paused Argo Rollout (clears spec.paused and its pause conditions)."""
    return [
        Patch({"status": {"pauseConditions": None}}, status=True),
        Patch({"spec": {"paused": False}}),
    ]


async def argo_abort(params: p.RolloutParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Abort an Argo Rollout: scale the canary down and send all traffic back to the stable
    version. The rollout is marked Degraded until retried."""
    return [Patch({"status": {"abort": True}}, status=True)]


async def argo_retry(params: p.RolloutParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Retry an aborted Argo Rollout from the first step."""
    return [Patch({"status": {"abort": False}}, status=True)]


async def argo_set_image(params: p.SetImageParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Set a container's image in an Argo Rollout's pod template, starting a new canary."""
    rollout = await get_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
    return [Patch(rollouts.set_image_patch(rollout, params.container, params.image), "json")]


async def argo_restart(params: p.RolloutParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Restart an Argo Rollout's pods (spec.restartAt = now), one at a time."""
    return [Patch(rollouts.restart_patch(datetime.now(UTC)))]


async def argo_undo(params: p.UndoParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Roll an Argo Rollout back to an earlier revision's pod template (the previous one by
    default); check argo_rollout_history first."""
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


def _hints(*, destructive: bool = False, idempotent: bool = False) -> ToolAnnotations:
    """Argo mutations change cluster objects only: never read-only, a closed world."""
    return ToolAnnotations(
        read_only=False, destructive=destructive, idempotent=idempotent, open_world=False
    )


TOOLS: list[Tool] = [
    define(
        "argo",
        Patches(argo_promote),
        p.PromoteParams,
        _hints(),
        preview=Patches(argo_promote).preview,
        verify=_verifier(_check_promoted),
        verifies=(
            "reads the Rollout back (bounded) until it is past the pause or step it was at (with "
            "full=true: until the new revision is stable)"
        ),
    ),
    define(
        "argo",
        Patches(argo_pause),
        p.RolloutParams,
        _hints(idempotent=True),
        preview=Patches(argo_pause).preview,
        verify=_verifier(_check_paused),
        verifies="reads the Rollout back (bounded) until the controller reports it Paused",
    ),
    define(
        "argo",
        Patches(argo_resume),
        p.RolloutParams,
        _hints(idempotent=True),
        preview=Patches(argo_resume).preview,
        verify=_verifier(_check_resumed),
        verifies="reads the Rollout back (bounded) until no pause older than the call holds it",
    ),
    define(
        "argo",
        Patches(argo_abort),
        p.RolloutParams,
        _hints(destructive=True, idempotent=True),
        preview=Patches(argo_abort).preview,
        verify=_verifier(_check_aborted),
        verifies=(
            "reads the Rollout back (bounded) until the controller reports it aborted and Degraded"
        ),
    ),
    define(
        "argo",
        Patches(argo_retry),
        p.RolloutParams,
        _hints(),
        preview=Patches(argo_retry).preview,
        verify=_verifier(_check_retried),
        verifies=(
            "reads the Rollout back (bounded) until the abort is cleared and it is no longer "
            "Degraded"
        ),
    ),
    define(
        "argo",
        Patches(argo_set_image),
        p.SetImageParams,
        _hints(idempotent=True),
        preview=Patches(argo_set_image).preview,
        verify=_verifier(_check_image),
        verifies="reads the Rollout back: its pod template has the new image",
    ),
    define(
        "argo",
        Patches(argo_restart),
        p.RolloutParams,
        _hints(),
        preview=Patches(argo_restart).preview,
        verify=_verifier(_check_restarted),
        verifies="reads the Rollout back: spec.restartAt is this call's restart",
    ),
    define(
        "argo",
        Patches(argo_undo),
        p.UndoParams,
        _hints(destructive=True),
        preview=Patches(argo_undo).preview,
        verify=_verifier(_check_undone),
        verifies=(
            "reads the Rollout back (bounded) until the controller has seen the restored template"
        ),
    ),
]
