"""The resource catalog of the sandbox API server: every kind it serves and how.

Used by `api` (routing, discovery, the decoded `Target` of a request), `writes`, `tables` and
`controllers`. Custom resource definitions created at run time are added to the same catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
READ_VERBS = ["get", "list"]


@dataclass(frozen=True)
class Resource:
    """One served resource type (group/version/plural) and its discovery facts."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        """`v1` for the core group, `group/version` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """Storage key: `plural.group` (`pods`, `deployments.apps`)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        """Lower-case kind, as discovery reports it."""
        return self.kind.lower()


@dataclass(frozen=True)
class Target:
    """A decoded resource path: `/api[s]/.../[namespaces/<ns>/]<plural>[/<name>[/<sub>]]`."""

    resource: Resource
    namespace: str
    name: str
    subresource: str


SUBRESOURCE_KINDS: dict[str, tuple[str, str, str]] = {
    "scale": ("autoscaling", "v1", "Scale"),
    "eviction": ("policy", "v1", "Eviction"),
    "log": ("", "v1", "Pod"),
    "exec": ("", "v1", "PodExecOptions"),
    "attach": ("", "v1", "PodAttachOptions"),
    "portforward": ("", "v1", "PodPortForwardOptions"),
}

_R = Resource
_CORE: list[Resource] = [
    _R("", "v1", "Namespace", "namespaces", False, ("ns",), subresources=("status", "finalize")),
    _R(
        "",
        "v1",
        "Pod",
        "pods",
        True,
        ("po",),
        subresources=("status", "log", "exec", "attach", "portforward", "eviction"),
        categories=("all",),
    ),
    _R(
        "",
        "v1",
        "Service",
        "services",
        True,
        ("svc",),
        subresources=("status",),
        categories=("all",),
    ),
    _R("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    _R("", "v1", "Secret", "secrets"),
    _R("", "v1", "Node", "nodes", False, ("no",), subresources=("status",)),
    _R("", "v1", "Event", "events", True, ("ev",)),
    _R("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    _R("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    _R("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ("pvc",)),
    _R(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        True,
        ("rc",),
        subresources=("scale",),
    ),
]
_APPS = [
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
    _R("apps", "v1", "ControllerRevision", "controllerrevisions"),
]
_OTHERS = [
    _R("batch", "v1", "Job", "jobs", True, subresources=("status",), categories=("all",)),
    _R(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        True,
        ("cj",),
        subresources=("status",),
        categories=("all",),
    ),
    _R(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        True,
        ("pdb",),
        subresources=("status",),
    ),
    _R("networking.k8s.io", "v1", "Ingress", "ingresses", True, ("ing",), subresources=("status",)),
    _R("events.k8s.io", "v1", "Event", "events", True, ("ev",)),
    _R(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
    ),
    _R("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", True, verbs=tuple(READ_VERBS)),
    _R("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", False, verbs=tuple(READ_VERBS)),
    _R(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        False,
        verbs=("create",),
    ),
    _R(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        False,
        verbs=("create",),
    ),
    _R(
        "argoproj.io",
        "v1alpha1",
        "Rollout",
        "rollouts",
        True,
        ("ro",),
        subresources=("scale", "status"),
        categories=("all", "argoproj"),
    ),
    _R(
        "argoproj.io",
        "v1alpha1",
        "AnalysisRun",
        "analysisruns",
        True,
        ("ar",),
        subresources=("status",),
    ),
    _R("argoproj.io", "v1alpha1", "AnalysisTemplate", "analysistemplates", True, ("at",)),
    _R(
        "argoproj.io",
        "v1alpha1",
        "Experiment",
        "experiments",
        True,
        ("exp",),
        subresources=("status",),
    ),
]


@dataclass
class Catalog:
    """All served resources, looked up by group/version/plural or by kind."""

    resources: list[Resource] = field(default_factory=lambda: [*_CORE, *_APPS, *_OTHERS])

    def find(self, group: str, version: str, plural: str) -> Resource | None:
        """The resource served at `group/version/plural`, if any."""
        for res in self.resources:
            if res.group == group and res.version == version and res.plural == plural:
                return res
        return None

    def by_kind(self, api_version: str, kind: str) -> Resource | None:
        """The resource for an object's `apiVersion` and `kind`."""
        for res in self.resources:
            if res.api_version == api_version and res.kind == kind:
                return res
        return None

    def by_key(self, key: str) -> Resource | None:
        """The (first) resource stored under `plural.group`."""
        for res in self.resources:
            if res.key == key:
                return res
        return None

    def group_versions(self) -> dict[str, list[str]]:
        """Versions served per group, in catalog order (`""` is the core group)."""
        out: dict[str, list[str]] = {}
        for res in self.resources:
            versions = out.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)
        return out

    def add_crd(self, crd: dict[str, Any]) -> None:
        """Serve the resource a CustomResourceDefinition declares (all its served versions)."""
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        for ver in spec.get("versions", []):
            if not ver.get("served", True):
                continue
            subs = tuple(ver.get("subresources", {}).keys())
            res = Resource(
                group=spec.get("group", ""),
                version=ver["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames", [])),
                subresources=subs,
                categories=tuple(names.get("categories", [])),
            )
            if self.find(res.group, res.version, res.plural) is None:
                self.resources.append(res)
