"""A small Argo Rollouts controller for `rollouts.argoproj.io/v1alpha1` canary rollouts.

Registered by `server` as an extra controller (it also runs on the server's one-second tick, so
timed pauses expire). It honours canary steps (`setWeight`, `pause` with or without duration;
analysis steps pass), `spec.paused`, promote (clearing `status.pauseConditions`, or
`status.promoteFull`), abort (`status.abort`), retry (abort cleared), restart (`spec.restartAt`)
and undo (a template of an older revision, rolled back at once when it is the stable one).
Status fields follow the real controller: `phase`, `message`, `currentStepIndex`, `stableRS`,
`currentPodHash`, `canary.weights`, `pauseConditions`, `controllerPause`, replica counts.
"""

from __future__ import annotations

import math
from typing import Any

from opsgate.sandbox.apiserver.cluster import Cluster
from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso, parse_time
from opsgate.sandbox.controllers import owners, scheduler

KEY = "rollouts.argoproj.io"
RS_KEY = "replicasets.apps"
REVISION = "rollout.argoproj.io/revision"
HASH_LABEL = "rollouts-pod-template-hash"


def _duration_s(value: Any) -> float:
    text = str(value)
    units = {"s": 1, "m": 60, "h": 3600}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)


def _revision(rs: Obj) -> int:
    return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)


def _new_rs(ro: Obj, hash_: str, revision: int) -> Obj:
    template = clone(ro["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = hash_
    selector = clone(ro["spec"].get("selector", {}))
    selector.setdefault("matchLabels", {})[HASH_LABEL] = hash_
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{ro['metadata']['name']}-{hash_}",
            "namespace": ro["metadata"]["namespace"],
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {REVISION: str(revision)},
            "ownerReferences": [scheduler.owner_reference(ro)],
        },
        "spec": {"replicas": 0, "selector": selector, "template": template},
    }


def _scale(store: Store, rs: Obj | None, replicas: int) -> bool:
    if rs is None or rs["spec"].get("replicas", 0) == replicas:
        return False
    rs["spec"]["replicas"] = replicas
    store.put(RS_KEY, rs)
    return True


def _ready(rs: Obj | None) -> int:
    return 0 if rs is None else int(rs.get("status", {}).get("readyReplicas", 0))


def _restart(store: Store, ro: Obj, owned: list[Obj], status: Obj) -> bool:
    restart_at = ro["spec"].get("restartAt")
    if (
        not restart_at
        or status.get("restartedAt") == restart_at
        or parse_time(restart_at) > parse_time(now_iso())
    ):
        return False
    for rs in owned:
        for pod in store.list("pods", ro["metadata"]["namespace"]):
            if owners.owned_by(pod, rs) and pod["metadata"]["creationTimestamp"] <= restart_at:
                store.delete("pods", ro["metadata"]["namespace"], pod["metadata"]["name"])
    status["restartedAt"] = restart_at
    return True


def reconcile_rollout(store: Store, ro: Obj) -> bool:
    """Drive one Rollout; True when anything changed."""
    changed = False
    namespace, spec = ro["metadata"]["namespace"], ro["spec"]
    status: Obj = clone(ro.get("status") or {})
    replicas = int(spec.get("replicas", 1))
    steps = (spec.get("strategy", {}).get("canary") or {}).get("steps") or []
    owned = [clone(rs) for rs in store.scan(RS_KEY, namespace) if owners.owned_by(rs, ro)]
    hash_ = owners.template_hash(spec["template"])
    by_hash = {rs["metadata"]["labels"].get(HASH_LABEL): rs for rs in owned}
    top = max((_revision(rs) for rs in owned), default=0)
    canary = by_hash.get(hash_)
    if canary is None:
        canary = store.put(RS_KEY, _new_rs(ro, hash_, top + 1))
        owned.append(canary)
        changed = True
    elif _revision(canary) < top:
        canary["metadata"]["annotations"][REVISION] = str(top + 1)
        canary = store.put(RS_KEY, canary)
        changed = True
    stable_hash = status.get("stableRS") or hash_
    stable = by_hash.get(stable_hash)
    if status.get("currentPodHash") != hash_:
        status.update(currentPodHash=hash_, currentStepIndex=0, abort=False, promoteFull=False)
        status.pop("pauseConditions", None)
        status.pop("abortedAt", None)
        status["controllerPause"] = False
    index = int(status.get("currentStepIndex") or 0)
    weight = 0
    message = ""
    if hash_ == stable_hash:
        weight, index = 100, len(steps)
        status.pop("pauseConditions", None)
        status["controllerPause"] = False
    elif status.get("abort"):
        weight, index = 0, 0
        status.setdefault("abortedAt", now_iso())
        message = f"RolloutAborted: Rollout aborted update to revision {_revision(canary)}"
    elif status.get("promoteFull"):
        weight, index = 100, len(steps)
        status.pop("pauseConditions", None)
    else:
        while index < len(steps):
            step = steps[index]
            if "setWeight" in step:
                weight = int(step["setWeight"])
                index += 1
                continue
            if "pause" in step:
                conditions = status.get("pauseConditions") or []
                if not conditions and not status.get("controllerPause"):
                    status["pauseConditions"] = [
                        {"reason": "CanaryPauseStep", "startTime": now_iso()}
                    ]
                    status["controllerPause"] = True
                    break
                if not conditions:
                    status["controllerPause"] = False
                    index += 1
                    continue
                duration = (step.get("pause") or {}).get("duration")
                started = parse_time(conditions[0].get("startTime"))
                if duration is not None and (
                    parse_time(now_iso()) - started
                ).total_seconds() >= _duration_s(duration):
                    status.pop("pauseConditions", None)
                    status["controllerPause"] = False
                    index += 1
                    continue
                break
            index += 1
        weight = 100 if index >= len(steps) else max(weight, _last_weight(steps, index))
    canary_count = replicas if weight >= 100 else math.ceil(replicas * weight / 100)
    if hash_ == stable_hash:
        changed |= _scale(store, canary, replicas)
    else:
        changed |= _scale(store, canary, canary_count)
        stable_count = replicas if status.get("abort") else max(replicas - canary_count, 0)
        changed |= _scale(store, stable, stable_count)
    for rs in owned:
        rs_hash = rs["metadata"]["labels"].get(HASH_LABEL)
        if rs_hash not in (hash_, stable_hash):
            changed |= _scale(store, rs, 0)
    if weight >= 100 and _ready(canary) >= replicas and not status.get("abort"):
        stable_hash = hash_
        status["promoteFull"] = False
    changed |= _restart(store, ro, owned, status)
    return (
        _write_status(store, ro, status, steps, index, weight, hash_, stable_hash, message)
        or changed
    )


def _last_weight(steps: list[Obj], index: int) -> int:
    weights = [int(s["setWeight"]) for s in steps[:index] if "setWeight" in s]
    return weights[-1] if weights else 0


def _write_status(
    store: Store,
    ro: Obj,
    status: Obj,
    steps: list[Obj],
    index: int,
    weight: int,
    hash_: str,
    stable: str,
    message: str,
) -> bool:
    namespace, name = ro["metadata"]["namespace"], ro["metadata"]["name"]
    fresh = store.get(KEY, namespace, name)
    if fresh is None:
        return False
    owned = [rs for rs in store.scan(RS_KEY, namespace) if owners.owned_by(rs, fresh)]
    current = next((rs for rs in owned if rs["metadata"]["labels"].get(HASH_LABEL) == hash_), None)
    total = sum(rs.get("status", {}).get("replicas", 0) for rs in owned)
    ready = sum(rs.get("status", {}).get("readyReplicas", 0) for rs in owned)
    updated = 0 if current is None else current.get("status", {}).get("replicas", 0)
    desired = int(fresh["spec"].get("replicas", 1))
    if status.get("abort"):
        phase = "Degraded"
    elif status.get("pauseConditions") or fresh["spec"].get("paused"):
        phase, message = (
            "Paused",
            "CanaryPauseStep" if status.get("pauseConditions") else "manually paused",
        )
    elif stable == hash_ and ready >= desired and total == desired:
        phase, message = "Healthy", ""
    else:
        phase, message = "Progressing", message or "more replicas need to be updated"
    selector = fresh["spec"].get("selector", {}).get("matchLabels", {})
    status.update(
        phase=phase,
        message=message,
        currentStepIndex=min(index, len(steps)),
        currentPodHash=hash_,
        stableRS=stable,
        replicas=total,
        updatedReplicas=updated,
        readyReplicas=ready,
        availableReplicas=ready,
        observedGeneration=str(fresh["metadata"].get("generation", 1)),
        selector=",".join(f"{k}={v}" for k, v in selector.items()),
        canary={
            "weights": {
                "canary": {
                    "podTemplateHash": hash_,
                    "weight": 0 if status.get("abort") else weight,
                },
                "stable": {
                    "podTemplateHash": stable,
                    "weight": 100 if status.get("abort") else 100 - weight,
                },
            }
        }
        if hash_ != stable
        else {},
    )
    if not steps:
        status.pop("currentStepIndex", None)
    if not message:
        status.pop("message", None)
    after = clone(fresh)
    after["status"] = status
    return owners.save_if_changed(store, KEY, fresh, after)


def reconcile_all(store: Store) -> bool:
    """Drive every Rollout; True when anything changed."""
    changed = False
    for ro in store.list(KEY):
        changed |= reconcile_rollout(store, ro)
    return changed


def rollout(name: str, image: str, replicas: int, steps: list[Obj]) -> Obj:
    """A canary Rollout in `shop`."""
    labels = {"app": name, "app.kubernetes.io/part-of": "shop"}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": "shop", "labels": labels},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": name, "image": image, "ports": [{"containerPort": 8080}]}
                    ]
                },
            },
            "strategy": {"canary": {"steps": steps}},
        },
    }


DEMO_STEPS: list[Obj] = [
    {"setWeight": 20},
    {"pause": {}},
    {"setWeight": 50},
    {"pause": {"duration": "30s"}},
    {"setWeight": 80},
    {"pause": {"duration": "30s"}},
]


def seed(cluster: Cluster) -> None:
    """The demo Rollout `checkout`: stable on 3.1.0, canary 3.2.0 paused at step 1 (20%)."""
    cluster.apply_many([rollout("checkout", "ghcr.io/opsgate-demo/checkout:3.1.0", 5, DEMO_STEPS)])
    res = cluster.catalog.by_kind("argoproj.io/v1alpha1", "Rollout")
    if res is None:
        return
    current = cluster.get(res, "shop", "checkout")
    current["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "ghcr.io/opsgate-demo/checkout:3.2.0"
    )
    cluster.update(res, "shop", "checkout", current)
