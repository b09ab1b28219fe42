"""Deletion as the API server and the garbage collector do it: finalizers, then dependents.

`cluster` calls `remove` for a DELETE request and `controllers.loop` runs `collect_garbage` on
every pass. An object with finalizers is only marked (`deletionTimestamp`) and goes once its
finalizers are cleared; a namespace is marked `Terminating` and emptied by
`controllers.namespaces`; dependents whose every owner is gone are collected.
"""

from __future__ import annotations

from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso


def remove(store: Store, key: str, obj: Obj) -> Obj:
    """Delete `obj` now, or mark it for deletion while finalizers remain; returns what was left."""
    meta = obj["metadata"]
    namespace = meta.get("namespace", "")
    finalizers = list(meta.get("finalizers") or [])
    if key == "namespaces":
        finalizers += (obj.get("spec") or {}).get("finalizers") or []
    if not finalizers:
        return store.delete(key, namespace, meta["name"]) or obj
    if meta.get("deletionTimestamp"):
        return obj
    marked = clone(obj)
    marked["metadata"]["deletionTimestamp"] = now_iso()
    marked["metadata"]["deletionGracePeriodSeconds"] = 0
    if key == "namespaces":
        marked.setdefault("status", {})["phase"] = "Terminating"
    return store.put(key, marked)


def finished(store: Store, key: str, obj: Obj) -> bool:
    """Remove an object marked for deletion whose finalizers are all gone; True when removed."""
    meta = obj["metadata"]
    if not meta.get("deletionTimestamp") or meta.get("finalizers"):
        return False
    if key == "namespaces" and (obj.get("spec") or {}).get("finalizers"):
        return False
    store.delete(key, meta.get("namespace", ""), meta["name"])
    return True


def collect_garbage(store: Store) -> bool:
    """Delete objects whose every owner is gone (background cascading deletion), and objects
    marked for deletion whose finalizers are done."""
    uids = {obj["metadata"].get("uid") for _, obj in store.all_objects()}
    changed = False
    for key, obj in list(store.all_objects()):
        refs = obj["metadata"].get("ownerReferences") or []
        marked = bool(obj["metadata"].get("deletionTimestamp"))
        if marked:
            changed |= finished(store, key, obj)
        elif refs and not any(ref.get("uid") in uids for ref in refs):
            remove(store, key, obj)
            changed = True
    return changed
