"""Snapshots before a change and the calls that undo it: what every family's planner shares.

A mutation declares how it is undone with `define(..., undo=planner)`: the planner reads the
call's targets before the change runs and returns a `base.Snapshot` (the objects as they were,
redacted, and the typed call restoring them, or why none can). `define` wraps it with
`snapshotting`, the tool server serves it as the `opsgate_snapshot` recipe, and the engine runs
it just before an approved change (`engine.execution`). Family planners live in
`kubectl/undo.py`, `helm/undo.py`, `argo/undo.py`; `impossible` serves changes nothing can
take back (a Jenkins build that ran).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opsgate.errors import OpsgateError, truncate
from opsgate.tools.base import Snapshot, ToolEnv, ToolFn, ToolOutput

UndoPlanner = Callable[[Any, ToolEnv], Awaitable[Snapshot]]
"""Reads a call's targets before it runs; returns them with the call that restores them."""

SERVER_MANAGED_METADATA = (
    "resourceVersion",
    "uid",
    "managedFields",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
"""Metadata the API server sets; a restore leaves it to the server."""

SERVER_MANAGED_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "kubectl.kubernetes.io/last-applied-configuration",
)
"""Annotations a controller or client keeps for itself (the last-applied copy also comes back
redacted whole, and restoring a mask would write the mask)."""


MASK_MARK = "**REDACTED"
"""What every redaction mask starts with (`REDACTED`, and the hash markers of arguments)."""


def restorable(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` as a server-side apply restores it: server-managed fields and `status` left out."""
    kept = {key: value for key, value in obj.items() if key != "status"}
    metadata = {
        key: value
        for key, value in dict(obj.get("metadata") or {}).items()
        if key not in SERVER_MANAGED_METADATA
    }
    annotations = {
        key: value
        for key, value in dict(metadata.get("annotations") or {}).items()
        if key not in SERVER_MANAGED_ANNOTATIONS
    }
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    kept["metadata"] = metadata
    return kept


def merge_patch(now: Any, wanted: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns `now` into `wanted`: changed values set
    back, keys `now` has and `wanted` lacks set to null (removed), lists replaced whole."""
    if not (isinstance(now, dict) and isinstance(wanted, dict)):
        return wanted
    patch: dict[str, Any] = {key: None for key in now if key not in wanted}
    for key, value in wanted.items():
        if key not in now:
            patch[key] = value
        elif now[key] != value:
            patch[key] = merge_patch(now[key], value)
    return patch


def masked_paths(value: Any, path: str = "") -> list[str]:
    """Where `value` holds a redaction mask: values opsgate never saw, so cannot put back."""
    if isinstance(value, str):
        return [path or "."] if MASK_MARK in value else []
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in masked_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in masked_paths(v, f"{path}[{i}]")]
    return []


def impossible(reason: str) -> UndoPlanner:
    """The planner of a change nothing can take back: it says why, and reads nothing."""

    async def plan(params: Any, env: ToolEnv) -> Snapshot:
        return Snapshot(cannot_undo=reason)

    return plan


def described(snapshot: Snapshot) -> str:
    """One line for people and the model: what the undo would do, or why there is none."""
    count = len(snapshot.objects)
    held = f"snapshot of {count} object{'s' if count != 1 else ''}"
    if snapshot.undo is not None:
        return f"{held}; undo: {snapshot.undo.tool}"
    return f"{held}; cannot undo: {snapshot.cannot_undo}"


def snapshotting(planner: UndoPlanner) -> ToolFn:
    """`planner` as a recipe: its `Snapshot` in the result's data; a planner that failed
    (the read errored) still answers, with no undo and the reason."""

    async def run(params: Any, env: ToolEnv) -> ToolOutput:
        try:
            snapshot = await planner(params, env)
        except OpsgateError as e:
            reason = f"the snapshot could not be taken: {truncate(str(e), 300)}"
            snapshot = Snapshot(cannot_undo=reason)
            return ToolOutput(ok=False, text=described(snapshot), data=snapshot)
        if (snapshot.undo is None) == (snapshot.cannot_undo is None):
            raise TypeError("a snapshot names exactly one of its undo and why there is none")
        return ToolOutput(ok=True, text=described(snapshot), data=snapshot)

    return run
