"""How the kubectl mutations are undone: their targets read before the change, and the restore.

Declared as `undo=` on the tools in `mutations.py`; run by the tool server's snapshot recipe
just before an approved call. Each planner reads the call's targets with one `kubectl get
--output=json` through the runner (so a Secret comes back with its keys and masked values),
and plans the call that returns to them: for a change to one object, the JSON merge patch from
what the change's own server-side dry run says it becomes back to what it is (values set back,
added fields removed); for objects a delete removes (or an apply of several changes), a
server-side apply of them as they were; for an object an apply creates, its deletion.
Secrets, restores that would write masked values and deleted volume claims are never offered
a restore: the reason says why.
"""

from __future__ import annotations

import json
from typing import Any

from opsgate.errors import ToolFailed, truncate
from opsgate.tools.base import RollbackCall, Snapshot, ToolEnv
from opsgate.tools.command import WHOLE_OUTPUT_BYTES, Builder, Target, namespace_args, run_argv
from opsgate.tools.kubectl import kustomize, manifests, previews
from opsgate.tools.kubectl import params as p
from opsgate.tools.undo import UndoPlanner, masked_paths, merge_patch, restorable

_DATA_KINDS = frozenset({"PersistentVolumeClaim", "PersistentVolume"})
"""Kinds whose deletion takes data with it that re-creating the object does not bring back."""


def _target(env: ToolEnv, context: str | None) -> Target:
    return Target.of(env, "kubectl", context)


def _items(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects of a `kubectl get -o json` answer (one object, or a List's items)."""
    if found.get("kind") == "List" or "items" in found:
        return [item for item in found.get("items") or [] if isinstance(item, dict)]
    return [found] if found else []


def _with_where(args: dict[str, Any], namespace: str | None, context: str | None) -> None:
    if namespace is not None:
        args["namespace"] = namespace
    if context is not None:
        args["context"] = context


def restore(objects: list[dict[str, Any]], namespace: str | None, context: str | None) -> Snapshot:
    """The snapshot of `objects`, with the server-side apply that puts them back as they were;
    none for a Secret (its values are never stored) or an object holding masked values."""
    named = ", ".join(manifests.document_name(obj) for obj in objects)
    if not objects:
        return Snapshot(cannot_undo="nothing matched before the change: nothing to restore")
    secrets = [obj for obj in objects if obj.get("kind") == "Secret"]
    if secrets:
        return Snapshot(
            objects=objects,
            cannot_undo=(
                f"{manifests.document_name(secrets[0])} is a Secret: opsgate never stores its "
                "values (only its keys), so it cannot put them back"
            ),
        )
    restored = [restorable(obj) for obj in objects]
    masked = [path for obj in restored for path in masked_paths(obj)]
    if masked:
        return Snapshot(
            objects=objects,
            cannot_undo=(
                f"{named} holds values opsgate masks and never stores (at "
                f"{', '.join(masked[:3])}): restoring it would write the masks"
            ),
        )
    args: dict[str, Any] = {
        "manifest": "\n---\n".join(json.dumps(obj, sort_keys=True) for obj in restored),
        "server_side": True,
        "force_conflicts": True,
    }
    _with_where(args, namespace, context)
    return Snapshot(objects=objects, undo=RollbackCall(tool="k8s_apply", args=args))


def _get_argv(
    target: Target, resource: str, name: str | None, namespace: str | None, selector: str | None
) -> list[str]:
    named = [name] if name is not None else []
    chosen = ["--selector", selector] if selector is not None else []
    return [*target.head(), "get", resource, *named, *namespace_args(namespace), *chosen, "-o=json"]


def object_change(builder: Builder, *, via: Builder | None = None) -> UndoPlanner:
    """Undo of a change to one object (scale, set image, patch, label, annotate).

    The object is read as it is, and as the change's own server-side dry run says it will be;
    the undo is the JSON merge patch from the second back to the first: every value the change
    replaces is set back, every field it adds removed (a server-side apply of the old object
    could not remove fields another manager added). `via` is the dry-run argv when the tool's
    own prints no object (`previews.scale_as_patch_argv`).
    """

    async def plan(params: Any, env: ToolEnv) -> Snapshot:
        target = _target(env, params.context)
        name = getattr(params, "name", None)
        argv = _get_argv(target, params.resource, name, params.namespace, None)
        found = _items(await _read(env, argv))
        if len(found) != 1:
            raise ToolFailed(f"expected one object to snapshot, kubectl returned {len(found)}")
        [before] = found
        after = await _read(env, previews.dry_run_argv((via or builder)(params, target), "json"))
        where = {"resource": params.resource, **({"name": name} if name is not None else {})}
        return _patched_back(before, after, where, params.namespace, params.context)

    return plan


def _patched_back(
    before: dict[str, Any],
    after: dict[str, Any],
    where: dict[str, Any],
    namespace: str | None,
    context: str | None,
) -> Snapshot:
    """The snapshot of `before` with the `k8s_patch` turning `after` back into it."""
    if before.get("kind") == "Secret":
        return restore([before], namespace, context)
    named = manifests.document_name(before)
    patch = merge_patch(restorable(after), restorable(before))
    if not patch:
        hidden = masked_paths(restorable(before))
        why = f"the dry run says the change leaves {named} as it is: there is nothing to undo"
        if hidden:
            # Masked on both sides, a changed secret value would look unchanged.
            why = (
                f"the dry run shows no change to {named} outside values opsgate masks (at "
                f"{', '.join(hidden[:3])}): it cannot tell whether those change, nor restore them"
            )
        return Snapshot(objects=[before], cannot_undo=why)
    masked = masked_paths(patch)
    if masked:
        return Snapshot(
            objects=[before],
            cannot_undo=(
                f"putting {named} back would write values opsgate masks and never stores (at "
                f"{', '.join(masked[:3])})"
            ),
        )
    args: dict[str, Any] = {
        **where,
        "patch": json.dumps(patch, sort_keys=True, separators=(",", ":")),
        "patch_type": "merge",
    }
    _with_where(args, namespace, context)
    return Snapshot(objects=[before], undo=RollbackCall(tool="k8s_patch", args=args))


async def undo_delete(params: p.DeleteParams, env: ToolEnv) -> Snapshot:
    """Undo of `k8s_delete`: what it deletes, re-created as it was (not a volume's data)."""
    target = _target(env, params.context)
    argv = _get_argv(target, params.resource, params.name, params.namespace, params.selector)
    objects = _items(await _read(env, argv))
    holding = [obj for obj in objects if obj.get("kind") in _DATA_KINDS]
    if holding:
        return Snapshot(
            objects=objects,
            cannot_undo=(
                f"deleting {manifests.document_name(holding[0])} removes the data on its volume "
                "(by its reclaim policy); re-creating the object would not bring the data back"
            ),
        )
    return restore(objects, params.namespace, params.context)


def applied(builder: Builder) -> UndoPlanner:
    """Undo of `k8s_apply`: one object it changes is patched back as `object_change` does
    (from the apply's own server-side dry run), several are applied back as they were; an
    object it creates is deleted again."""

    async def plan(params: p.ApplyParams, env: ToolEnv) -> Snapshot:
        manifest = await kustomize.manifest_of(params, env)
        target = _target(env, params.context)
        existing = await _existing(env, target, params, manifest)
        there = {manifests.document_name(obj) for obj in existing}
        applied_objects = manifests.parse_objects(manifest)
        new = [obj for obj in applied_objects if manifests.document_name(obj) not in there]
        if not new and len(existing) == 1:
            argv = previews.dry_run_argv(builder(params, target), "json")
            [after] = _items(await _read(env, argv, stdin=manifest))
            [before] = existing
            where = {"resource": before["kind"].lower(), "name": before["metadata"]["name"]}
            namespace = before["metadata"].get("namespace") or params.namespace
            return _patched_back(before, after, where, namespace, params.context)
        if not new:
            return restore(existing, params.namespace, params.context)
        if existing or len(new) > 1:
            created = ", ".join(manifests.document_name(obj) for obj in new)
            return Snapshot(
                objects=existing,
                cannot_undo=(
                    f"the apply creates {created} besides what it changes: no one call takes "
                    "all of it back; delete or re-apply each by hand"
                ),
            )
        (made,) = new
        args: dict[str, Any] = {"resource": made["kind"].lower(), "name": made["metadata"]["name"]}
        _with_where(args, made["metadata"].get("namespace") or params.namespace, params.context)
        return Snapshot(objects=[], undo=RollbackCall(tool="k8s_delete", args=args))

    return plan


async def _existing(
    env: ToolEnv, target: Target, params: p.ApplyParams, manifest: str
) -> list[dict[str, Any]]:
    """The manifest's objects that exist now, as they are."""
    argv = [
        *target.head(),
        "get",
        "--filename",
        "-",
        *namespace_args(params.namespace),
        "--ignore-not-found",
        "-o=json",
    ]
    return _items(await _read(env, argv, stdin=manifest, empty_ok=True))


async def _read(
    env: ToolEnv, argv: list[str], *, stdin: str | None = None, empty_ok: bool = False
) -> dict[str, Any]:
    """A kubectl command printing JSON, read whole (a snapshot cut short would restore half
    an object), parsed; `ToolFailed` saying why otherwise."""
    output = await run_argv(env, argv, stdin=stdin, stdout_cap_bytes=WHOLE_OUTPUT_BYTES)
    if not output.ok:
        raise ToolFailed(f"kubectl failed: {truncate(output.text, 300)}")
    if output.truncated:
        raise ToolFailed(f"kubectl printed more than the {WHOLE_OUTPUT_BYTES} bytes opsgate reads")
    if empty_ok and not output.text.strip():
        return {}
    try:
        found: dict[str, Any] = json.loads(output.text)
    except ValueError as e:
        raise ToolFailed(f"kubectl returned no JSON: {truncate(output.text, 200)!r}") from e
    return found
