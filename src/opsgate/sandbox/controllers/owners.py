"""Ownership and change helpers shared by the sandbox's controllers.

Used by `controllers`, `workloads`, `jobs` and `rollouts`: who owns what (ownerReferences), the
pod-template-hash, and writing an object only when it really changed.
"""

from __future__ import annotations

import json

from opsgate.sandbox.apiserver.store import Obj, Store, clone
from opsgate.sandbox.controllers import scheduler


def owned_by(obj: Obj, owner: Obj) -> bool:
    """Whether `obj` has an ownerReference to `owner`."""
    uid = owner["metadata"]["uid"]
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def save_if_changed(store: Store, key: str, before: Obj, after: Obj) -> bool:
    """Store `after` when it differs from `before`; True when something was written."""
    if before == after:
        return False
    store.put(key, after)
    return True


def template_hash(template: Obj) -> str:
    """The pod-template-hash of a template (its own hash label excluded)."""
    clean = clone(template)
    clean.get("metadata", {}).get("labels", {}).pop("pod-template-hash", None)
    return scheduler.stable_hash(json.dumps(clean, sort_keys=True))


def owned_pods(store: Store, owner: Obj) -> list[Obj]:
    return [p for p in store.scan("pods", owner["metadata"]["namespace"]) if owned_by(p, owner)]


def pod_counts(found: list[Obj]) -> tuple[int, int]:
    ready = sum(
        1
        for p in found
        if any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in p.get("status", {}).get("conditions", [])
        )
    )
    return len(found), ready
