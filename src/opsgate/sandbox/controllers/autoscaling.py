"""The horizontal pod autoscaler: HPA status from simulated metrics, and the target's scale.

Registered in `loop.CONTROLLERS`. For each HPA, the pods its target (Deployment, StatefulSet
or ReplicaSet) selects that are Running give the metrics (`containers.metrics`); resource
metrics need every container's request, else the HPA reports `FailedGetResourceMetric` with
the controller's message and shows `<unknown>` targets. The desired count is
`ceil(replicas * current / target)` outside a 10% tolerance, kept within min/max; scaling up
happens at once, scaling down only after the scale-down stabilisation window (default 5 min).
Below `minReplicas` the target is scaled up whatever the metrics.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from fractions import Fraction

from opsgate.sandbox.apiserver import quantity
from opsgate.sandbox.apiserver.selectors import match_labels
from opsgate.sandbox.apiserver.store import Obj, Store, clone, now_iso, parse_time
from opsgate.sandbox.containers import metrics
from opsgate.sandbox.controllers import events
from opsgate.sandbox.controllers.owners import save_if_changed

KEY = "horizontalpodautoscalers.autoscaling"
TARGETS = {
    "Deployment": "deployments.apps",
    "StatefulSet": "statefulsets.apps",
    "ReplicaSet": "replicasets.apps",
}
COMPONENT = "horizontal-pod-autoscaler"
TOLERANCE = Fraction(1, 10)


def _pods(store: Store, target: Obj) -> list[Obj]:
    selector = (target.get("spec") or {}).get("selector") or {}
    namespace = target["metadata"].get("namespace", "")
    return [
        p
        for p in store.scan("pods", namespace)
        if match_labels(selector, p["metadata"].get("labels"))
        and (p.get("status") or {}).get("phase") == "Running"
        and not p["metadata"].get("deletionTimestamp")
    ]


def _usage(pod: Obj, container: Obj, resource: str) -> Fraction:
    if resource == "cpu":
        return Fraction(metrics.cpu_millicores(pod, container), 1000)
    for entry in metrics.pod_metrics(pod)["containers"]:
        if entry["name"] == container.get("name"):
            return quantity.parse(entry["usage"]["memory"])
    return Fraction(0)


def _resource_metric(metric: Obj, pods: list[Obj]) -> tuple[Obj | None, Fraction | None, str]:
    """(currentMetrics entry, ratio current/target, or the error the controller reports)."""
    body = metric.get("resource") or {}
    name, target = str(body.get("name", "")), body.get("target") or {}
    failed = f"failed to get {name} utilization"
    if not pods:
        why = "did not receive metrics for targeted pods (pods might be unready)"
        return None, None, f"{failed}: {why}"
    used = requested = Fraction(0)
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            request = ((container.get("resources") or {}).get("requests") or {}).get(name)
            if request is None and target.get("type") == "Utilization":
                where = f"container {container.get('name')} of Pod {pod['metadata']['name']}"
                return None, None, f"{failed}: missing request for {name} in {where}"
            requested += quantity.parse(request or "0")
            used += _usage(pod, container, name)
    average = used / len(pods)
    current: Obj = {"averageValue": quantity.text(name, average)}
    if target.get("type") == "Utilization":
        percent = math.floor(used * 100 / requested) if requested else 0
        current["averageUtilization"] = percent
        ratio = Fraction(percent, int(target.get("averageUtilization") or 80))
    else:
        wanted = quantity.parse(target.get("averageValue") or target.get("value") or "0")
        ratio = average / wanted if wanted else Fraction(1)
    return {"type": "Resource", "resource": {"name": name, "current": current}}, ratio, ""


def _condition(kind: str, ok: bool, reason: str, message: str, old: list[Obj]) -> Obj:
    status = "True" if ok else "False"
    before = next((c for c in old if c.get("type") == kind), None)
    kept = before.get("lastTransitionTime") if before and before.get("status") == status else None
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": kept or now_iso(),
    }


def _may_scale_down(hpa: Obj) -> bool:
    behavior = (hpa.get("spec") or {}).get("behavior") or {}
    window = int((behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds", 300))
    status = hpa.get("status") or {}
    last = status.get("lastScaleTime") or hpa["metadata"].get("creationTimestamp")
    return (datetime.now(UTC) - parse_time(last)).total_seconds() >= window


def _missing_target(store: Store, hpa: Obj, ref: Obj, old: list[Obj]) -> bool:
    kind = str(ref.get("kind", "")).lower() + "s"
    message = f'{kind}/scale.apps "{ref.get("name")}" not found'
    events.record(store, hpa, "FailedGetScale", message, "Warning", COMPONENT, count=1)
    why = f"the HPA controller was unable to get the target's current scale: {message}"
    after = clone(hpa)
    after["status"] = {
        "currentReplicas": 0,
        "desiredReplicas": 0,
        "conditions": [_condition("AbleToScale", False, "FailedGetScale", why, old)],
    }
    return save_if_changed(store, KEY, hpa, after)


def _measure(spec: Obj, pods: list[Obj]) -> tuple[list[Obj], list[Fraction], str]:
    """The current metrics, their ratios to target, and the first error (if any)."""
    current: list[Obj] = []
    ratios: list[Fraction] = []
    failure = ""
    for metric in spec.get("metrics") or []:
        if metric.get("type") != "Resource":
            failure = failure or f"unable to get {metric.get('type')} metric: not simulated"
            continue
        entry, ratio, error = _resource_metric(metric, pods)
        if entry is not None and ratio is not None:
            current.append(entry)
            ratios.append(ratio)
        failure = failure or error
    return current, ratios, failure


def _limits(wanted: int, low: int, high: int, old: list[Obj]) -> tuple[int, Obj]:
    if wanted < low:
        message = "the desired replica count is less than the minimum replica count"
        return low, _condition("ScalingLimited", True, "TooFewReplicas", message, old)
    if wanted > high:
        message = "the desired replica count is more than the maximum replica count"
        return high, _condition("ScalingLimited", True, "TooManyReplicas", message, old)
    message = "the desired count is within the acceptable range"
    return wanted, _condition("ScalingLimited", False, "DesiredWithinRange", message, old)


def reconcile_hpa(store: Store, hpa: Obj) -> bool:
    """One pass over one HPA: its status, and the target's replicas when they must change."""
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    old = (hpa.get("status") or {}).get("conditions") or []
    key = TARGETS.get(str(ref.get("kind", "")), "")
    namespace = hpa["metadata"].get("namespace", "")
    target = store.get(key, namespace, str(ref.get("name", ""))) if key else None
    if target is None:
        return _missing_target(store, hpa, ref, old)
    low, high = int(spec.get("minReplicas") or 1), int(spec.get("maxReplicas") or 1)
    replicas = int((target.get("spec") or {}).get("replicas", 1))
    pods = _pods(store, target)
    current, ratios, failure = _measure(spec, pods)
    wanted = replicas
    if ratios and abs(max(ratios) - 1) > TOLERANCE and pods:
        wanted = math.ceil(len(pods) * max(ratios))
    conditions = [
        _condition(
            "AbleToScale", True, "ReadyForNewScale", "recommended size matches current size", old
        )
    ]
    if failure and not ratios:
        count = len(spec.get("metrics") or [])
        events.record(store, hpa, "FailedGetResourceMetric", failure, "Warning", COMPONENT, count=1)
        invalid = f"invalid metrics ({count} invalid out of {count}), first error is: {failure}"
        events.record(
            store, hpa, "FailedComputeMetricsReplicas", invalid, "Warning", COMPONENT, count=1
        )
        why = f"the HPA was unable to compute the replica count: {failure}"
        conditions.append(_condition("ScalingActive", False, "FailedGetResourceMetric", why, old))
    else:
        why = (
            "the HPA was able to successfully calculate a replica count from cpu resource "
            "utilization (percentage of request)"
        )
        conditions.append(_condition("ScalingActive", True, "ValidMetricFound", why, old))
    desired, limited = _limits(wanted, low, high, old)
    conditions.append(limited)
    if desired < replicas and not _may_scale_down(hpa):
        desired = replicas
    after = clone(hpa)
    status = after.setdefault("status", {})
    status.update(currentReplicas=replicas, desiredReplicas=desired, conditions=conditions)
    status.pop("currentMetrics", None)
    if current:
        status["currentMetrics"] = current
    if desired != replicas:
        scaled = clone(target)
        scaled["spec"]["replicas"] = desired
        store.put(key, scaled)
        status["lastScaleTime"] = now_iso()
        if replicas < low:
            reason = "Current number of replicas below Spec.MinReplicas"
        elif desired < replicas:
            reason = "All metrics below target"
        else:
            reason = "cpu resource utilization (percentage of request) above target"
        message = f"New size: {desired}; reason: {reason}"
        events.record(store, hpa, "SuccessfulRescale", message, component=COMPONENT)
    return save_if_changed(store, KEY, hpa, after)
