"""The Argo Rollouts mutations: promote, pause, resume, abort, retry, set image, restart, undo.

Each is a list of kubectl patches on the `rollouts.argoproj.io` object, the same ones the
`kubectl argo rollouts` plugin sends, so no Argo binary is needed. A tool's planner (named
after the tool, its docstring the description) decides the patches; `Patches` sends them, and its
`preview` sends them as a server-side dry run. Every tool has a verify recipe (`verifies.py`)
that reads the Rollout back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsgate.domain.calls import ToolAnnotations
from opsgate.errors import ToolFailed
from opsgate.tools.argo import params as p
from opsgate.tools.argo import rollouts, undo, verifies
from opsgate.tools.argo.kube import (
    ROLLOUTS,
    PatchType,
    get_argv,
    patch,
    patch_argv,
    rollout_and_replicasets,
    target,
)
from opsgate.tools.base import Tool, ToolEnv, ToolOutput
from opsgate.tools.command import Target, display, read_json
from opsgate.tools.define import define, previewed


@dataclass(frozen=True)
class Patch:
    body: Any
    patch_type: PatchType = "merge"
    status: bool = False
    """Sent to the status subresource (as the plugin does for promote/abort/retry)."""


Planner = Callable[[Any, ToolEnv, Target], Awaitable[list[Patch]]]


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


# Planners: one per tool, named after it; the docstring is what the model reads.


async def argo_promote(params: p.PromoteParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Promote an Argo Rollout: continue past the current pause/step, or with full=true skip all
    remaining steps and analysis and go to 100% at once."""
    rollout = await read_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
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
    rollout = await read_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
    return [Patch(rollouts.set_image_patch(rollout, params.container, params.image), "json")]


async def argo_restart(params: p.RolloutParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Restart an Argo Rollout's pods (spec.restartAt = now), one at a time."""
    return [Patch(rollouts.restart_patch(datetime.now(UTC)))]


async def argo_undo(params: p.UndoParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Roll an Argo Rollout back to an earlier revision's pod template (the previous one by
    default); check argo_rollout_history first."""
    rollout, replicasets = await rollout_and_replicasets(env, target, params.name, params.namespace)
    return [Patch(rollouts.undo_patch(rollout, replicasets, params.to_revision), "json")]


async def argo_return_to_step(params: p.StepParams, env: ToolEnv, target: Target) -> list[Patch]:
    """Return an Argo Rollout's canary to an earlier step (`step`, from 0), as if a promote
    past it had not happened: the controller sets that step's weight again and pauses there if
    it is a pause step. The undo of argo_promote; a fully promoted Rollout needs argo_undo."""
    rollout = await read_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
    status = rollout.get("status", {})
    if status.get("currentPodHash") == status.get("stableRS"):
        raise ToolFailed(
            f"rollout {params.name!r} is fully promoted (its revision is stable): it has no "
            "canary step to return to; argo_undo rolls its template back"
        )
    at = int(status.get("currentStepIndex") or 0)
    if params.step > at:
        raise ToolFailed(
            f"rollout {params.name!r} is at step {at}: step {params.step} is ahead (argo_promote)"
        )
    back = {"currentStepIndex": params.step, "pauseConditions": None, "controllerPause": False}
    items = [Patch({"status": back}, status=True)]
    if params.paused and not rollout.get("spec", {}).get("paused"):
        items.append(Patch({"spec": {"paused": True}}))
    return items


def _hints(*, destructive: bool = False, idempotent: bool = False) -> ToolAnnotations:
    """Argo mutations change cluster objects only: never read-only, a closed world."""
    return ToolAnnotations(
        read_only=False, destructive=destructive, idempotent=idempotent, open_world=False
    )


_PODS = (
    "; with the pods of the current revision: one that cannot start fails it at once, and it "
    "waits until the controller stops Progressing"
)

TOOLS: list[Tool] = [
    define(
        "argo",
        Patches(argo_promote),
        p.PromoteParams,
        _hints(),
        preview=Patches(argo_promote).preview,
        verify=verifies.verifier(verifies.check_promoted, starts_pods=True),
        verifies=(
            "reads the Rollout back (bounded) until it is past the step it was at (full: until "
            f"the new revision is stable){_PODS}"
        ),
        undo=undo.undo_promote,
    ),
    define(
        "argo",
        Patches(argo_pause),
        p.RolloutParams,
        _hints(idempotent=True),
        preview=Patches(argo_pause).preview,
        verify=verifies.verifier(verifies.check_paused),
        verifies="reads the Rollout back (bounded) until the controller reports it Paused",
    ),
    define(
        "argo",
        Patches(argo_resume),
        p.RolloutParams,
        _hints(idempotent=True),
        preview=Patches(argo_resume).preview,
        verify=verifies.verifier(verifies.check_resumed, starts_pods=True),
        verifies=f"reads the Rollout back (bounded) until no older pause holds it{_PODS}",
    ),
    define(
        "argo",
        Patches(argo_abort),
        p.RolloutParams,
        _hints(destructive=True, idempotent=True),
        preview=Patches(argo_abort).preview,
        verify=verifies.verifier(verifies.check_aborted),
        verifies="reads the Rollout back (bounded) until the controller reports it Degraded",
    ),
    define(
        "argo",
        Patches(argo_retry),
        p.RolloutParams,
        _hints(),
        preview=Patches(argo_retry).preview,
        verify=verifies.verifier(verifies.check_retried, starts_pods=True),
        verifies=(
            "reads the Rollout back (bounded) until the abort is cleared and it is not "
            f"Degraded{_PODS}"
        ),
    ),
    define(
        "argo",
        Patches(argo_set_image),
        p.SetImageParams,
        _hints(idempotent=True),
        preview=Patches(argo_set_image).preview,
        verify=verifies.verifier(verifies.check_image, starts_pods=True),
        verifies=f"reads the Rollout back (bounded): its pod template has the new image{_PODS}",
    ),
    define(
        "argo",
        Patches(argo_restart),
        p.RolloutParams,
        _hints(),
        preview=Patches(argo_restart).preview,
        verify=verifies.verifier(verifies.check_restarted, starts_pods=True),
        verifies=f"reads the Rollout back (bounded): spec.restartAt is this call's restart{_PODS}",
    ),
    define(
        "argo",
        Patches(argo_undo),
        p.UndoParams,
        _hints(destructive=True),
        preview=Patches(argo_undo).preview,
        verify=verifies.verifier(verifies.check_undone, starts_pods=True),
        verifies=(
            "reads the Rollout back (bounded) until the controller has seen the restored "
            f"template{_PODS}"
        ),
    ),
    define(
        "argo",
        Patches(argo_return_to_step),
        p.StepParams,
        _hints(),
        preview=Patches(argo_return_to_step).preview,
        verify=verifies.verifier(verifies.check_at_step),
        verifies="reads the Rollout back (bounded) until the controller is at that step again",
    ),
]
