"""The `apps` group: Deployments, ReplicaSets, StatefulSets, DaemonSets, ControllerRevisions."""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.selectors import match_labels
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds import podspec
from opsgate.sandbox.kinds.base import (
    Cause,
    Kind,
    age,
    forbidden,
    go_map,
    invalid,
    invalid_text,
    required,
    selector_text,
    spec,
    status,
    unsupported,
)

_S, _I = "string", "integer"


def containers_of(obj: Obj) -> list[Obj]:
    template = spec(obj).get("template", {}).get("spec", spec(obj))
    return list(template.get("containers", []))


def workload_extra(obj: Obj) -> list[Any]:
    """The wide columns CONTAINERS, IMAGES, SELECTOR of a workload."""
    found = containers_of(obj)
    return [
        ",".join(c.get("name", "") for c in found),
        ",".join(c.get("image", "") for c in found),
        selector_text(spec(obj).get("selector")),
    ]


def _deploy_row(obj: Obj) -> list[Any]:
    st = status(obj)
    return [
        f"{st.get('readyReplicas', 0)}/{spec(obj).get('replicas', 1)}",
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        age(obj),
        *workload_extra(obj),
    ]


def _rs_row(obj: Obj) -> list[Any]:
    st = status(obj)
    return [
        spec(obj).get("replicas", 1),
        st.get("replicas", 0),
        st.get("readyReplicas", 0),
        age(obj),
        *workload_extra(obj),
    ]


def _sts_row(obj: Obj) -> list[Any]:
    st = status(obj)
    return [
        f"{st.get('readyReplicas', 0)}/{spec(obj).get('replicas', 1)}",
        age(obj),
        *workload_extra(obj)[:2],
    ]


def _ds_row(obj: Obj) -> list[Any]:
    st = status(obj)
    node_selector = spec(obj).get("template", {}).get("spec", {}).get("nodeSelector") or {}
    return [
        st.get("desiredNumberScheduled", 0),
        st.get("currentNumberScheduled", 0),
        st.get("numberReady", 0),
        st.get("updatedNumberScheduled", 0),
        st.get("numberAvailable", 0),
        ",".join(f"{k}={v}" for k, v in node_selector.items()) or "<none>",
        age(obj),
        *workload_extra(obj),
    ]


def _revision_row(obj: Obj) -> list[Any]:
    owner = next(
        (r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None
    )
    controller = "<none>"
    if owner:
        group = (
            owner.get("apiVersion", "").split("/")[0] if "/" in owner.get("apiVersion", "") else ""
        )
        kind = owner.get("kind", "").lower() + (f".{group}" if group else "")
        controller = f"{kind}/{owner.get('name')}"
    return [controller, obj.get("revision", 0), age(obj)]


def go_selector(selector: Obj | None) -> str:
    """A LabelSelector as Go's `%#v` prints it in immutability errors."""
    labels = go_map((selector or {}).get("matchLabels")).replace(
        "map[string]string{}", "map[string]string(nil)"
    )
    return (
        f"v1.LabelSelector{{MatchLabels:{labels}, "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
    )


def _template_labels_causes(obj: Obj) -> list[Cause]:
    selector = spec(obj).get("selector")
    labels = spec(obj).get("template", {}).get("metadata", {}).get("labels") or {}
    causes = []
    if not selector:
        causes.append(required("spec.selector"))
    if not selector or not match_labels(selector, labels):
        causes.append(
            invalid_text(
                "spec.template.metadata.labels",
                go_map(labels),
                "`selector` does not match template `labels`",
            )
        )
    return causes


def _workload_validate(restart: list[str] | None = None) -> Any:
    def check(obj: Obj, old: Obj | None) -> list[Cause]:
        causes = _template_labels_causes(obj)
        template = spec(obj).get("template", {}).get("spec")
        claims = spec(obj).get("volumeClaimTemplates") or []
        if claims and isinstance(template, dict):
            # A StatefulSet's pods mount their claim templates as volumes of those names.
            named = [{"name": (c.get("metadata") or {}).get("name")} for c in claims]
            template = {**template, "volumes": [*(template.get("volumes") or []), *named]}
        causes += podspec.validate(template, "spec.template.spec", restart or ["Always"])
        replicas = spec(obj).get("replicas")
        if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
            causes.append(invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
        if old is not None and spec(old).get("selector") != spec(obj).get("selector"):
            causes.append(
                invalid_text(
                    "spec.selector", go_selector(spec(obj).get("selector")), "field is immutable"
                )
            )
        return causes

    return check


_STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
    "revisionHistoryLimit",
)


def _sts_validate(obj: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = _workload_validate()(obj, None)
    if old is not None:
        before = {k: v for k, v in spec(old).items() if k not in _STS_MUTABLE}
        after = {k: v for k, v in spec(obj).items() if k not in _STS_MUTABLE}
        if before != after:
            causes.append(
                forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                    "'template', 'updateStrategy', 'revisionHistoryLimit', "
                    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                )
            )
    policy = spec(obj).get("podManagementPolicy")
    if policy not in (None, "OrderedReady", "Parallel"):
        causes.append(unsupported("spec.podManagementPolicy", policy, ["OrderedReady", "Parallel"]))
    return causes


def _deploy_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("replicas", 1)
    sp.setdefault("revisionHistoryLimit", 10)
    sp.setdefault("progressDeadlineSeconds", 600)
    strategy = sp.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    podspec.defaults(sp.setdefault("template", {}).setdefault("spec", {}), in_template=True)


def _rs_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("replicas", 1)
    podspec.defaults(sp.setdefault("template", {}).setdefault("spec", {}), in_template=True)


def _sts_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("replicas", 1)
    sp.setdefault("revisionHistoryLimit", 10)
    sp.setdefault("podManagementPolicy", "OrderedReady")
    strategy = sp.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy.setdefault("type", "RollingUpdate")
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    sp.setdefault(
        "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"}
    )
    for claim in sp.get("volumeClaimTemplates") or []:
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
        claim.setdefault("status", {"phase": "Pending"})
    podspec.defaults(sp.setdefault("template", {}).setdefault("spec", {}), in_template=True)


def _ds_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("revisionHistoryLimit", 10)
    strategy = sp.setdefault("updateStrategy", {"type": "RollingUpdate"})
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        strategy.setdefault("type", "RollingUpdate")
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    podspec.defaults(sp.setdefault("template", {}).setdefault("spec", {}), in_template=True)


_R = Resource
_WIDE = (("Containers", _S, 1), ("Images", _S, 1), ("Selector", _S, 1))
KINDS: list[Kind] = [
    Kind(
        "Deployment",
        (
            _R(
                "apps",
                "v1",
                "Deployment",
                "deployments",
                True,
                ("deploy",),
                subresources=("scale", "status"),
                categories=("all",),
            ),
        ),
        (("Ready", _S, 0), ("Up-to-date", _I, 0), ("Available", _I, 0), ("Age", _S, 0), *_WIDE),
        _deploy_row,
        _deploy_defaults,
        _workload_validate(),
    ),
    Kind(
        "ReplicaSet",
        (
            _R(
                "apps",
                "v1",
                "ReplicaSet",
                "replicasets",
                True,
                ("rs",),
                subresources=("scale", "status"),
                categories=("all",),
            ),
        ),
        (("Desired", _I, 0), ("Current", _I, 0), ("Ready", _I, 0), ("Age", _S, 0), *_WIDE),
        _rs_row,
        _rs_defaults,
        _workload_validate(),
    ),
    Kind(
        "StatefulSet",
        (
            _R(
                "apps",
                "v1",
                "StatefulSet",
                "statefulsets",
                True,
                ("sts",),
                subresources=("scale", "status"),
                categories=("all",),
            ),
        ),
        (("Ready", _S, 0), ("Age", _S, 0), ("Containers", _S, 1), ("Images", _S, 1)),
        _sts_row,
        _sts_defaults,
        _sts_validate,
    ),
    Kind(
        "DaemonSet",
        (
            _R(
                "apps",
                "v1",
                "DaemonSet",
                "daemonsets",
                True,
                ("ds",),
                subresources=("status",),
                categories=("all",),
            ),
        ),
        (
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Ready", _I, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Node Selector", _S, 0),
            ("Age", _S, 0),
            *_WIDE,
        ),
        _ds_row,
        _ds_defaults,
        _workload_validate(),
    ),
    Kind(
        "ControllerRevision",
        (_R("apps", "v1", "ControllerRevision", "controllerrevisions"),),
        (("Controller", _S, 0), ("Revision", _I, 0), ("Age", _S, 0)),
        _revision_row,
    ),
]
