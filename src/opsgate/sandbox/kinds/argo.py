"""`argoproj.io/v1alpha1`: Argo Rollouts' kinds, served built in (see `controllers.rollouts`)."""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds import podspec
from opsgate.sandbox.kinds.base import Kind, age, spec, status

GROUP = "argoproj.io"
_S, _I = "string", "integer"


def _rollout_row(obj: Obj) -> list[Any]:
    st = status(obj)
    return [
        spec(obj).get("replicas", 1),
        st.get("replicas", 0),
        st.get("updatedReplicas", 0),
        st.get("availableReplicas", 0),
        age(obj),
    ]


def _rollout_defaults(obj: Obj) -> None:
    sp = obj.setdefault("spec", {})
    sp.setdefault("replicas", 1)
    sp.setdefault("revisionHistoryLimit", 10)
    podspec.defaults(sp.setdefault("template", {}).setdefault("spec", {}), in_template=True)


def _phase_row(obj: Obj) -> list[Any]:
    return [status(obj).get("phase", ""), age(obj)]


_R = Resource
KINDS: list[Kind] = [
    Kind(
        "Rollout",
        (
            _R(
                GROUP,
                "v1alpha1",
                "Rollout",
                "rollouts",
                True,
                ("ro",),
                subresources=("scale", "status"),
                categories=("all", "argoproj"),
            ),
        ),
        (
            ("Desired", _I, 0),
            ("Current", _I, 0),
            ("Up-to-date", _I, 0),
            ("Available", _I, 0),
            ("Age", _S, 0),
        ),
        _rollout_row,
        _rollout_defaults,
    ),
    Kind(
        "AnalysisRun",
        (
            _R(
                GROUP,
                "v1alpha1",
                "AnalysisRun",
                "analysisruns",
                True,
                ("ar",),
                subresources=("status",),
            ),
        ),
        (("Status", _S, 0), ("Age", _S, 0)),
        _phase_row,
    ),
    Kind(
        "AnalysisTemplate",
        (_R(GROUP, "v1alpha1", "AnalysisTemplate", "analysistemplates", True, ("at",)),),
    ),
    Kind(
        "ClusterAnalysisTemplate",
        (
            _R(
                GROUP,
                "v1alpha1",
                "ClusterAnalysisTemplate",
                "clusteranalysistemplates",
                False,
                ("cat",),
            ),
        ),
    ),
    Kind(
        "Experiment",
        (
            _R(
                GROUP,
                "v1alpha1",
                "Experiment",
                "experiments",
                True,
                ("exp",),
                subresources=("status",),
            ),
        ),
        (("Status", _S, 0), ("Age", _S, 0)),
        _phase_row,
    ),
]
