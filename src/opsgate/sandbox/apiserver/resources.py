"""The resource catalog of the sandbox API server: every kind it serves and how.

Used by `http.api` (routing, discovery, the decoded `Target` of a request), `http.writes`,
`http.tables` and `cluster`. The built-in resources come from `kinds.registry`; those of
CustomResourceDefinitions are added and removed at run time by `crds`.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    custom: bool = False
    """Served for a CustomResourceDefinition (added and removed at run time)."""

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


@dataclass
class Catalog:
    """All served resources, looked up by group/version/plural or by kind."""

    resources: list[Resource]

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
