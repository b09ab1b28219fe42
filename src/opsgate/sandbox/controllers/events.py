"""Kubernetes events (`core/v1` Event) as the kubelet and the controllers report them.

Called by `kubelet` (container trouble, derived from the clock), `pods` (scheduling) and the
workload controllers (scaling, pod creation). Like the real event recorder, a repeated event
about the same object is one Event whose `count` and `lastTimestamp` grow; its name is a
digest of what it says, so the next occurrence finds it without a search.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso

EventType = Literal["Normal", "Warning"]
KEY = "events"


def _name(obj: Obj, component: str, event_type: str, reason: str, message: str, series: str) -> str:
    meta = obj["metadata"]
    what = "\x00".join((meta.get("uid", ""), component, event_type, reason, message, series))
    return f"{meta['name']}.{hashlib.sha256(what.encode()).hexdigest()[:16]}"


def record(
    store: Store,
    obj: Obj,
    reason: str,
    message: str,
    event_type: EventType = "Normal",
    component: str = "kubelet",
    *,
    count: int | None = None,
    first: str | None = None,
    last: str | None = None,
    series: str = "",
) -> bool:
    """Record an event about `obj`; True when an Event was written.

    With `count` None this is one more occurrence (count + 1, last seen now). With a `count`,
    the event is brought to that many occurrences (first and last seen as given) and nothing
    is written when it already has them: the kubelet derives its counts from the clock.
    `series` separates episodes (a container's run, a new back-off) into distinct Events.
    """
    meta = obj["metadata"]
    namespace = meta.get("namespace") or "default"
    name = _name(obj, component, event_type, reason, message, series)
    existing = store.peek(KEY, namespace, name)
    now = now_iso()
    if existing is not None:
        if count is not None and existing.get("count") == count:
            return False
        event = clone(existing)
        event["count"] = existing.get("count", 1) + 1 if count is None else count
        event["lastTimestamp"] = now if count is None else (last or now)
        store.put(KEY, event)
        return True
    store.put(
        KEY,
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": obj.get("apiVersion", "v1"),
                "kind": obj.get("kind", ""),
                "name": meta["name"],
                "namespace": meta.get("namespace", ""),
                "uid": meta.get("uid", ""),
            },
            "reason": reason,
            "message": message,
            "source": {"component": component},
            "firstTimestamp": first or now,
            "lastTimestamp": last or first or now,
            "count": count or 1,
            "type": event_type,
            "reportingComponent": component,
            "reportingInstance": "",
        },
    )
    return True
