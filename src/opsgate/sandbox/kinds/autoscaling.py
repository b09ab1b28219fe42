"""The `autoscaling` group: HorizontalPodAutoscaler, stored as `v2` and served as `v2` and `v1`.

`convert` turns an object of either version into the other, as the API server's conversion
does for the fields both versions have (`v1` knows only a CPU utilisation target).
"""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj, clone
from opsgate.sandbox.kinds.base import Cause, Kind, age, invalid, required, spec, status

_S, _I = "string", "integer"
DEFAULT_CPU = 80


def _cpu_metric(utilization: int) -> Obj:
    return {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": utilization},
        },
    }


def convert(obj: Obj, version: str) -> Obj:
    """The HPA in `autoscaling/<version>`."""
    current = obj.get("apiVersion", "autoscaling/v2").split("/")[-1]
    if current == version:
        return obj
    out = clone(obj)
    out["apiVersion"] = f"autoscaling/{version}"
    sp, st = out.setdefault("spec", {}), out.get("status") or {}
    if version == "v1":
        metrics = sp.pop("metrics", None) or []
        sp.pop("behavior", None)
        cpu = next(
            (
                m["resource"]["target"].get("averageUtilization")
                for m in metrics
                if m.get("type") == "Resource" and m.get("resource", {}).get("name") == "cpu"
            ),
            None,
        )
        if cpu is not None:
            sp["targetCPUUtilizationPercentage"] = cpu
        current_cpu = next(
            (
                m["resource"]["current"].get("averageUtilization")
                for m in st.pop("currentMetrics", None) or []
                if m.get("type") == "Resource" and m.get("resource", {}).get("name") == "cpu"
            ),
            None,
        )
        st.pop("conditions", None)
        if current_cpu is not None:
            st["currentCPUUtilizationPercentage"] = current_cpu
        return out
    target = sp.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        sp["metrics"] = [_cpu_metric(int(target))]
    current_cpu = st.pop("currentCPUUtilizationPercentage", None)
    if current_cpu is not None:
        st["currentMetrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "current": {"averageUtilization": current_cpu}},
            }
        ]
    return out


def metric_name(metric: Obj) -> str:
    kind = metric.get("type", "")
    if kind == "Resource":
        return str(metric.get("resource", {}).get("name", ""))
    if kind == "ContainerResource":
        return str(metric.get("containerResource", {}).get("name", ""))
    body = metric.get(kind[:1].lower() + kind[1:], {}) if kind else {}
    return str(body.get("metric", {}).get("name", kind))


def _target_text(metric: Obj) -> str:
    kind = metric.get("type", "")
    body = metric.get(kind[:1].lower() + kind[1:], {}) if kind else {}
    target = body.get("target", {})
    if target.get("type") == "Utilization":
        return f"{target.get('averageUtilization')}%"
    return str(target.get("averageValue") or target.get("value") or "<unknown>")


def _current_text(metric: Obj, current: list[Obj]) -> str:
    name = metric_name(metric)
    found = next(
        (c for c in current if c.get("type") == metric.get("type") and metric_name(c) == name), None
    )
    if found is None:
        return "<unknown>"
    kind = found.get("type", "")
    body = found.get(kind[:1].lower() + kind[1:], {}).get("current", {})
    if metric.get(kind[:1].lower() + kind[1:], {}).get("target", {}).get("type") == "Utilization":
        value = body.get("averageUtilization")
        return "<unknown>" if value is None else f"{value}%"
    return str(body.get("averageValue") or body.get("value") or "<unknown>")


def _row(hpa: Obj) -> list[Any]:
    sp, st = spec(hpa), status(hpa)
    ref = sp.get("scaleTargetRef", {})
    metrics = sp.get("metrics") or []
    current = st.get("currentMetrics") or []
    cells = [f"{metric_name(m)}: {_current_text(m, current)}/{_target_text(m)}" for m in metrics]
    targets = ", ".join(cells[:2]) + (f" + {len(cells) - 2} more..." if len(cells) > 2 else "")
    return [
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        targets or "<none>",
        sp.get("minReplicas", 1),
        sp.get("maxReplicas", 0),
        st.get("currentReplicas", 0),
        age(hpa),
    ]


def _defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("minReplicas", 1)
    if not sp.get("metrics"):
        sp["metrics"] = [_cpu_metric(DEFAULT_CPU)]
    behavior = sp.setdefault("behavior", {})
    up = behavior.setdefault("scaleUp", {})
    up.setdefault("stabilizationWindowSeconds", 0)
    up.setdefault("selectPolicy", "Max")
    up.setdefault(
        "policies",
        [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    )
    down = behavior.setdefault("scaleDown", {})
    down.setdefault("stabilizationWindowSeconds", 300)
    down.setdefault("selectPolicy", "Max")
    down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])


def _validate(obj: Obj, old: Obj | None) -> list[Cause]:
    sp = spec(obj)
    causes: list[Cause] = []
    ref = sp.get("scaleTargetRef") or {}
    if not ref.get("kind"):
        causes.append(required("spec.scaleTargetRef.kind"))
    if not ref.get("name"):
        causes.append(required("spec.scaleTargetRef.name"))
    high, low = sp.get("maxReplicas"), sp.get("minReplicas", 1)
    if not isinstance(high, int):
        causes.append(required("spec.maxReplicas"))
    elif isinstance(low, int) and high < low:
        causes.append(
            invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`")
        )
    if isinstance(low, int) and low < 1:
        causes.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    return causes


KINDS: list[Kind] = [
    Kind(
        "HorizontalPodAutoscaler",
        tuple(
            Resource(
                "autoscaling",
                version,
                "HorizontalPodAutoscaler",
                "horizontalpodautoscalers",
                True,
                ("hpa",),
                subresources=("status",),
                categories=("all",),
            )
            for version in ("v2", "v1")
        ),
        (
            ("Reference", _S, 0),
            ("Targets", _S, 0),
            ("MinPods", _S, 0),
            ("MaxPods", _I, 0),
            ("Replicas", _I, 0),
            ("Age", _S, 0),
        ),
        _row,
        _defaults,
        _validate,
        convert=convert,
    ),
]
