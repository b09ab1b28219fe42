"""How an Argo promote is undone: the Rollout's step and pauses before it, and the way back.

Declared as `undo=` on `argo_promote` in `mutations.py`; run by the tool server's snapshot
recipe just before an approved promote. A step promote is undone by `argo_return_to_step` to
the step it was at (the controller sets that step's weight and pauses there again); a full
promote makes the new revision stable, which no patch of the Rollout takes back.
"""

from __future__ import annotations

from typing import Any

from opsgate.tools.argo import params as p
from opsgate.tools.argo.kube import ROLLOUTS, get_argv, target
from opsgate.tools.base import RollbackCall, Snapshot, ToolEnv
from opsgate.tools.command import read_json

HELD_STATUS = (
    "currentStepIndex",
    "pauseConditions",
    "controllerPause",
    "stableRS",
    "currentPodHash",
)
"""The status fields a promote moves, kept in the snapshot."""


async def undo_promote(params: p.PromoteParams, env: ToolEnv) -> Snapshot:
    """Undo of `argo_promote`: back to the step the canary was at."""
    rollout = await read_json(
        env, get_argv(target(env, params.context), ROLLOUTS, params.name, params.namespace)
    )
    status = rollout.get("status", {})
    held: dict[str, Any] = {
        "name": params.name,
        "spec": {"paused": bool(rollout.get("spec", {}).get("paused"))},
        "status": {key: status.get(key) for key in HELD_STATUS},
    }
    if params.full:
        return Snapshot(
            objects=[held],
            cannot_undo=(
                "a full promote makes the new revision stable; no patch of the Rollout takes "
                "that back (argo_undo starts a new rollout of the previous template)"
            ),
        )
    args: dict[str, Any] = {
        "name": params.name,
        "step": int(status.get("currentStepIndex") or 0),
        "paused": held["spec"]["paused"],
    }
    if params.namespace is not None:
        args["namespace"] = params.namespace
    if params.context is not None:
        args["context"] = params.context
    return Snapshot(objects=[held], undo=RollbackCall(tool="argo_return_to_step", args=args))
