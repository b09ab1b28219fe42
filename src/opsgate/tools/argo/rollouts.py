"""Pure functions over Rollout and ReplicaSet JSON: summaries for the model, and the patches
the `kubectl argo rollouts` plugin sends, so the tools need no Argo binary.

Called by `reads.py` and `mutations.py`; tested without a cluster.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from opsgate.errors import ToolFailed

REVISION_ANNOTATION = "rollout.argoproj.io/revision"
HASH_LABEL = "rollouts-pod-template-hash"


def steps(rollout: dict[str, Any]) -> list[dict[str, Any]]:
    canary = rollout.get("spec", {}).get("strategy", {}).get("canary") or {}
    return list(canary.get("steps") or [])


def canary_weight(rollout: dict[str, Any]) -> int | None:
    """The canary's traffic weight: from `status.canary.weights`, else from the steps passed.

    A rollout whose new revision is stable (or that has passed every step) is at 100%.
    """
    status = rollout.get("status", {})
    weights = (status.get("canary") or {}).get("weights") or {}
    weight = (weights.get("canary") or {}).get("weight")
    if weight is not None:
        return int(weight)
    index = status.get("currentStepIndex")
    if index is None:
        return None
    stable, current = status.get("stableRS"), status.get("currentPodHash")
    if (stable and stable == current) or int(index) >= len(steps(rollout)):
        return 100
    last = 0
    for step in steps(rollout)[: int(index)]:
        if "setWeight" in step:
            last = int(step["setWeight"])
    return last


def images(template: dict[str, Any]) -> list[str]:
    containers = template.get("spec", {}).get("containers") or []
    return [f"{c.get('name')}={c.get('image')}" for c in containers]


def owned_replicasets(
    rollout: dict[str, Any], replicasets: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    uid = rollout.get("metadata", {}).get("uid")
    name = rollout.get("metadata", {}).get("name")
    owned = []
    for rs in replicasets:
        for ref in rs.get("metadata", {}).get("ownerReferences") or []:
            if ref.get("kind") == "Rollout" and (ref.get("uid") == uid or ref.get("name") == name):
                owned.append(rs)
                break
    return sorted(owned, key=revision_of)


def revision_of(rs: dict[str, Any]) -> int:
    value = (rs.get("metadata", {}).get("annotations") or {}).get(REVISION_ANNOTATION, "0")
    return int(value) if str(value).isdigit() else 0


def _strategy(rollout: dict[str, Any]) -> str:
    strategy = rollout.get("spec", {}).get("strategy", {})
    return "BlueGreen" if "blueGreen" in strategy else "Canary"


def summarize(rollout: dict[str, Any], replicasets: list[dict[str, Any]]) -> str:
    """What `kubectl argo rollouts get rollout` shows: phase, step, weights, revisions."""
    meta = rollout.get("metadata", {})
    status = rollout.get("status", {})
    all_steps = steps(rollout)
    index = status.get("currentStepIndex")
    lines = [
        f"Name:       {meta.get('name')}",
        f"Namespace:  {meta.get('namespace')}",
        f"Status:     {status.get('phase', 'Unknown')}"
        + (f" ({status['message']})" if status.get("message") else ""),
        f"Strategy:   {_strategy(rollout)}",
    ]
    if all_steps:
        lines.append(f"  Step:     {index if index is not None else '-'}/{len(all_steps)}")
        lines.append(f"  Weights:  canary {canary_weight(rollout) or 0}%")
    if status.get("abort"):
        lines.append("Aborted:    true (traffic back on stable; argo_retry restarts the update)")
    elif status.get("pauseConditions"):
        reasons = ", ".join(str(c.get("reason")) for c in status["pauseConditions"])
        lines.append(f"Paused:     {reasons}")
    elif rollout.get("spec", {}).get("paused"):
        lines.append("Paused:     spec.paused")
    lines.append(
        f"Replicas:   desired {rollout.get('spec', {}).get('replicas', 1)}, "
        f"current {status.get('replicas', 0)}, updated {status.get('updatedReplicas', 0)}, "
        f"ready {status.get('readyReplicas', 0)}, available {status.get('availableReplicas', 0)}"
    )
    stable = status.get("stableRS")
    current = status.get("currentPodHash")
    lines.append("Revisions:")
    for rs in reversed(owned_replicasets(rollout, replicasets)):
        pod_hash = (rs.get("metadata", {}).get("labels") or {}).get(HASH_LABEL)
        marks = [m for m, h in (("stable", stable), ("canary", current)) if h and h == pod_hash]
        if marks == ["stable", "canary"]:
            marks = ["stable"]
        rs_status = rs.get("status", {})
        lines.append(
            f"  revision {revision_of(rs)} {rs['metadata']['name']} "
            f"[{', '.join(marks) or 'old'}] replicas {rs_status.get('readyReplicas', 0)}/"
            f"{rs.get('spec', {}).get('replicas', 0)} "
            f"{' '.join(images(rs.get('spec', {}).get('template', {})))}"
        )
    return "\n".join(lines)


def history(rollout: dict[str, Any], replicasets: list[dict[str, Any]]) -> str:
    owned = owned_replicasets(rollout, replicasets)
    if not owned:
        return f"rollout {rollout['metadata']['name']!r} has no revisions yet"
    lines = ["REVISION  REPLICASET  IMAGES"]
    for rs in owned:
        lines.append(
            f"{revision_of(rs):<9} {rs['metadata']['name']}  "
            f"{' '.join(images(rs.get('spec', {}).get('template', {})))}"
        )
    return "\n".join(lines)


def list_summary(items: list[dict[str, Any]]) -> str:
    if not items:
        return "No rollouts found."
    lines = ["NAMESPACE  NAME  STATUS  STEP  CANARY-WEIGHT  READY"]
    for r in items:
        status = r.get("status", {})
        total = len(steps(r))
        step = f"{status.get('currentStepIndex', '-')}/{total}" if total else "-"
        lines.append(
            f"{r['metadata'].get('namespace')}  {r['metadata']['name']}  "
            f"{status.get('phase', 'Unknown')}  {step}  {canary_weight(r) or 0}  "
            f"{status.get('readyReplicas', 0)}/{r.get('spec', {}).get('replicas', 1)}"
        )
    return "\n".join(lines)


# Patches, as the kubectl-argo-rollouts plugin sends them.


def promote_patches(
    rollout: dict[str, Any], *, full: bool
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(status patch, spec patch) for a promote, each None when not needed (as the plugin does).

    Full: `status.promoteFull`, unless the current revision is already the stable one.
    Step: `spec.paused` is cleared if set; pause conditions are cleared if any, otherwise the
    current step is skipped (an analysis or experiment step still running).
    """
    status = rollout.get("status", {})
    name = rollout.get("metadata", {}).get("name")
    if full:
        if status.get("currentPodHash") == status.get("stableRS"):
            raise ToolFailed(f"rollout {name!r} is already fully promoted (its revision is stable)")
        return {"status": {"promoteFull": True}}, None
    spec_patch = {"spec": {"paused": False}} if rollout.get("spec", {}).get("paused") else None
    if status.get("pauseConditions"):
        return {"status": {"pauseConditions": None}}, spec_patch
    all_steps = steps(rollout)
    index = int(status.get("currentStepIndex") or 0)
    if all_steps and index < len(all_steps):
        return {"status": {"pauseConditions": None, "currentStepIndex": index + 1}}, spec_patch
    if spec_patch is not None:
        return None, spec_patch
    # The plugin would send a no-op here; saying so is more useful to an operator.
    raise ToolFailed(f"rollout {name!r} is not paused and has no step left to promote")


def set_image_patch(rollout: dict[str, Any], container: str, image: str) -> list[dict[str, Any]]:
    """A JSON patch that replaces one container's image, guarded by a `test` of its name."""
    containers = rollout.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    for index, c in enumerate(containers):
        if c.get("name") == container:
            path = f"/spec/template/spec/containers/{index}"
            return [
                {"op": "test", "path": f"{path}/name", "value": container},
                {"op": "replace", "path": f"{path}/image", "value": image},
            ]
    names = ", ".join(repr(c.get("name")) for c in containers)
    raise ToolFailed(f"rollout has no container {container!r} (it has {names})")


def restart_patch(now: datetime) -> dict[str, Any]:
    return {"spec": {"restartAt": now.strftime("%Y-%m-%dT%H:%M:%SZ")}}


def undo_patch(
    rollout: dict[str, Any], replicasets: list[dict[str, Any]], to_revision: int | None
) -> list[dict[str, Any]]:
    """A JSON patch replacing the pod template with an older revision's (the previous by default).

    A replace, as the plugin sends (like `kubectl rollout undo`): a merge patch would keep
    template fields the older revision does not have.
    """
    owned = owned_replicasets(rollout, replicasets)
    current = max((revision_of(rs) for rs in owned), default=0)
    if to_revision is None:
        older = [rs for rs in owned if revision_of(rs) < current]
        if not older:
            raise ToolFailed(f"rollout {rollout['metadata']['name']!r} has no previous revision")
        target = older[-1]
    else:
        matches = [rs for rs in owned if revision_of(rs) == to_revision]
        if not matches:
            raise ToolFailed(
                f"rollout {rollout['metadata']['name']!r} has no revision {to_revision}"
            )
        target = matches[0]
    template = _without_hash(target.get("spec", {}).get("template", {}))
    if template == _without_hash(rollout.get("spec", {}).get("template", {})):
        # The plugin skips here too ("current template already matches revision N").
        raise ToolFailed(
            f"rollout {rollout['metadata']['name']!r} already runs the template of "
            f"revision {revision_of(target)}"
        )
    return [{"op": "replace", "path": "/spec/template", "value": template}]


def _without_hash(template: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(template)
    labels = (result.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    return result


def dumps(patch: Any) -> str:
    return json.dumps(patch, separators=(",", ":"), sort_keys=True)
