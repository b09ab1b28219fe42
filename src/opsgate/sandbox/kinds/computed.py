"""Groups whose answers are computed on each request, never stored: metrics
(`kubectl top`), authorization reviews (`kubectl auth can-i`) and authentication reviews
(`kubectl auth whoami`, TokenReview). `http.reviews` and `containers.metrics` answer them."""

from __future__ import annotations

from opsgate.sandbox.apiserver.resources import READ_VERBS, Resource
from opsgate.sandbox.kinds.base import Kind

_R = Resource
_CREATE = ("create",)
KINDS: list[Kind] = [
    Kind(
        "PodMetrics",
        (_R("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", True, verbs=tuple(READ_VERBS)),),
    ),
    Kind(
        "NodeMetrics",
        (_R("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", False, verbs=tuple(READ_VERBS)),),
    ),
    *(
        Kind(kind, (_R("authorization.k8s.io", "v1", kind, plural, namespaced, verbs=_CREATE),))
        for kind, plural, namespaced in (
            ("SelfSubjectAccessReview", "selfsubjectaccessreviews", False),
            ("SelfSubjectRulesReview", "selfsubjectrulesreviews", False),
            ("SubjectAccessReview", "subjectaccessreviews", False),
            ("LocalSubjectAccessReview", "localsubjectaccessreviews", True),
        )
    ),
    *(
        Kind(kind, (_R("authentication.k8s.io", "v1", kind, plural, False, verbs=_CREATE),))
        for kind, plural in (
            ("SelfSubjectReview", "selfsubjectreviews"),
            ("TokenReview", "tokenreviews"),
        )
    ),
]
