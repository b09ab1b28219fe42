"""Which API resource a name like `deploy`, `pods` or `deployments.apps` means, as kubectl decides.

Used by `pool.ApiPool.resources` (parsing the aggregated discovery of `/api` and `/apis`) and
by `native.get` (resolving the `resource` parameter). kubectl expands short names first, then
matches plural and singular names, taking the first match in discovery order (the core group,
then the groups in the order the server lists them) and each group's preferred version; a
`name.group` form narrows to that group. A name it cannot place raises `NotNative`, so kubectl
gives its own answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from opsgate.errors import NotNative

ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)
"""What kubectl asks for discovery with (aggregated discovery, v2 preferred)."""


@dataclass(frozen=True)
class ApiResource:
    """One listable resource of one group version."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...]

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None) -> str:
        """The URL path listing this resource (in `namespace` when it is namespaced)."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"


@dataclass(frozen=True)
class Discovery:
    """The resources of a cluster in discovery order."""

    resources: tuple[ApiResource, ...]

    def resolve(self, name: str) -> ApiResource:
        """The resource kubectl would pick for `name`.

        Raises:
            NotNative: no resource, or a form (`name.version.group`) left to kubectl.
        """
        lowered = name.lower()
        candidates = list(self.resources)
        for resource in candidates:
            if lowered in resource.short_names:
                return resource
        for resource in candidates:
            if lowered in (resource.plural, resource.singular):
                return resource
        plural, _, group = lowered.partition(".")
        if group:
            for resource in candidates:
                if resource.group == group and plural in (resource.plural, resource.singular):
                    return resource
        raise NotNative(f"the resource type {name!r} is not in the cluster's discovery")


def _resources(document: dict[str, Any]) -> list[ApiResource]:
    found: list[ApiResource] = []
    for group in document.get("items") or []:
        versions = group.get("versions") or []
        if not versions:
            continue
        preferred = versions[0]  # aggregated discovery lists the preferred version first
        name = str((group.get("metadata") or {}).get("name") or "")
        for item in preferred.get("resources") or []:
            if "list" not in (item.get("verbs") or []):
                continue
            kind = str((item.get("responseKind") or {}).get("kind") or "")
            found.append(
                ApiResource(
                    group=name,
                    version=str(preferred.get("version")),
                    plural=str(item.get("resource")),
                    singular=str(item.get("singularResource") or kind.lower()),
                    kind=kind,
                    namespaced=item.get("scope") == "Namespaced",
                    short_names=tuple(str(s) for s in item.get("shortNames") or []),
                )
            )
    return found


def parse(bodies: list[bytes]) -> Discovery:
    """The `Discovery` of the `/api` and `/apis` aggregated discovery documents, in order.

    Raises:
        NotNative: a body is not an APIGroupDiscoveryList.
    """
    resources: list[ApiResource] = []
    for body in bodies:
        try:
            document = json.loads(body)
        except ValueError as e:
            raise NotNative("the discovery document is not JSON") from e
        if not isinstance(document, dict) or document.get("kind") != "APIGroupDiscoveryList":
            raise NotNative("the discovery document is not an APIGroupDiscoveryList")
        resources += _resources(document)
    return Discovery(tuple(resources))
