"""Every built-in kind of the sandbox, gathered from the group modules of `kinds`.

Read by `apiserver.cluster` (the catalog's resources), `apiserver.defaults`,
`apiserver.validation` and `http.tables`. Custom resources are added at run time by
`apiserver.crds` and are not listed here.
"""

from __future__ import annotations

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.kinds import (
    apps,
    argo,
    autoscaling,
    batch,
    computed,
    core,
    networking,
    rbac,
    storage,
    system,
)
from opsgate.sandbox.kinds.base import Kind

KINDS: list[Kind] = [
    *core.KINDS,
    *apps.KINDS,
    *batch.KINDS,
    *autoscaling.KINDS,
    *networking.KINDS,
    *rbac.KINDS,
    *storage.KINDS,
    *system.KINDS,
    *computed.KINDS,
    *argo.KINDS,
]
_BY_GROUP_KIND: dict[tuple[str, str], Kind] = {
    (res.group, res.kind): kind for kind in KINDS for res in kind.resources
}
# events.k8s.io/v1 Event is a view of the core Event (see `http.subresources`).
EVENTS_V1 = Resource("events.k8s.io", "v1", "Event", "events", True, ("ev",))


def resources() -> list[Resource]:
    """Every built-in resource, in discovery order."""
    return [*(res for kind in KINDS for res in kind.resources), EVENTS_V1]


def kind_of(res: Resource) -> Kind | None:
    """The built-in kind served at `res` (None for custom resources)."""
    if res.group == "events.k8s.io":
        return _BY_GROUP_KIND.get(("", "Event"))
    return _BY_GROUP_KIND.get((res.group, res.kind))
