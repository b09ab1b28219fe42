"""The Argo Rollouts mutations: promote, pause, resume, abort, retry, set image, restart, undo.

Each is a list of kubectl patches on the `rollouts.argoproj.io` object, the same ones the
`kubectl argo rollouts` plugin sends, so no Argo binary is needed. Every tool has a preview
(the same patches with `--dry-run=server`) and a verify recipe that reads the Rollout back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
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


@dataclass(frozen=True)
class Patch:
    body: Any
    patch_type: PatchType = "merge"
    status: bool = False
    """Sent to the status subresource (as the plugin does for promote/abort/retry)."""


Planner = Callable[[Any, ToolEnv, Target], Awaitable[list[Patch]]]
Check = Callable[[Any, dict[str, Any]], tuple[bool, str]]


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
        deadline = loop.time() + VERIFY_TIMEOUT_S
        while True:
            rollout = await get_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
            ok, summary = check(params, rollout)
            if ok or loop.time() >= deadline:
                phase = rollout.get("status", {}).get("phase", "Unknown")
                return ToolOutput(ok=ok, text=f"{summary} (phase {phase})", data={"phase": phase})
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
    items = [Patch(status_patch, status=True)] if status_patch else []
    return [*items, Patch(spec_patch)]


async def _plan_set_image(params: p.SetImageParams, env: ToolEnv, target: Target) -> list[Patch]:
    rollout = await get_json(env, get_argv(target, ROLLOUTS, params.name, params.namespace))
    return [Patch(rollouts.set_image_patch(rollout, params.container, params.image), "json")]


async def _plan_restart(params: p.RolloutParams, env: ToolEnv, target: Target) -> list[Patch]:
    return [Patch(rollouts.restart_patch(datetime.now(UTC)))]


async def _plan_undo(params: p.UndoParams, env: ToolEnv, target: Target) -> list[Patch]:
    rollout, replicasets = await rollout_and_replicasets(env, target, params.name, params.namespace)
    return [Patch(rollouts.undo_patch(rollout, replicasets, params.to_revision))]


def _paused(rollout: dict[str, Any]) -> bool:
    return bool(
        rollout.get("spec", {}).get("paused") or rollout.get("status", {}).get("pauseConditions")
    )


def _check_promoted(params: p.PromoteParams, rollout: dict[str, Any]) -> tuple[bool, str]:
    status = rollout.get("status", {})
    if params.full:
        ok = status.get("phase") == "Healthy" or bool(status.get("promoteFull"))
        return ok, "promoted to full" if ok else "not promoted to full yet"
    ok = not rollout.get("spec", {}).get("paused") and status.get("abort") is not True
    return ok, f"at step {status.get('currentStepIndex')}/{len(rollouts.steps(rollout))}"


def _check_image(params: p.SetImageParams, rollout: dict[str, Any]) -> tuple[bool, str]:
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
        lambda params, r: (
            bool(r.get("spec", {}).get("paused")),
            "paused" if r.get("spec", {}).get("paused") else "not paused",
        ),
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
        lambda params, r: (not _paused(r), "running" if not _paused(r) else "still paused"),
        idempotent=True,
    ),
    mutation(
        "argo_abort",
        "Abort an Argo Rollout: scale the canary down and send all traffic back to the stable "
        "version. The rollout is marked Degraded until retried.",
        p.RolloutParams,
        _fixed(Patch({"status": {"abort": True}}, status=True)),
        lambda params, r: (
            r.get("status", {}).get("abort") is True,
            "aborted" if r.get("status", {}).get("abort") else "not aborted",
        ),
        destructive=True,
        idempotent=True,
    ),
    mutation(
        "argo_retry",
        "Retry an aborted Argo Rollout from the first step.",
        p.RolloutParams,
        _fixed(Patch({"status": {"abort": False}}, status=True)),
        lambda params, r: (
            not r.get("status", {}).get("abort"),
            "retrying" if not r.get("status", {}).get("abort") else "still aborted",
        ),
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
        lambda params, r: (
            bool(r.get("spec", {}).get("restartAt")),
            f"restartAt {r.get('spec', {}).get('restartAt')}",
        ),
    ),
    mutation(
        "argo_undo",
        "Roll an Argo Rollout back to an earlier revision's pod template (the previous one by "
        "default); check argo_rollout_history first.",
        p.UndoParams,
        _plan_undo,
        lambda params, r: (
            r.get("status", {}).get("phase") not in (None, "Degraded"),
            f"phase {r.get('status', {}).get('phase')}",
        ),
        destructive=True,
    ),
]
