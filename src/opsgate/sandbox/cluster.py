"""The emulated cluster: object CRUD with API-server semantics on top of the store.

`api` translates HTTP requests into these calls; `seed` and `server` use them to build the
demo world. Every write runs the controllers, then persists to the state file if one is set.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsgate.sandbox import controllers, defaults, pods
from opsgate.sandbox.resources import Catalog, Resource
from opsgate.sandbox.store import Obj, Store, clone


class ApiError(Exception):
    """A failure answered as a `Status` object (reason and HTTP code as Kubernetes uses them)."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    def status(self) -> Obj:
        """The `Status` body of this error."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }


def not_found(res: Resource, name: str) -> ApiError:
    """The NotFound error for one object."""
    return ApiError(404, "NotFound", f'{res.key} "{name}" not found')


@dataclass
class Cluster:
    """Store, catalog and controllers of one sandbox."""

    store: Store = field(default_factory=Store)
    catalog: Catalog = field(default_factory=Catalog)
    extra_controllers: list[Callable[[Store], bool]] = field(default_factory=list)
    state_path: Path | None = None
    saved_revision: int = 0

    def settle(self) -> None:
        """Run the controllers and persist."""
        controllers.reconcile(self.store, self.extra_controllers)
        if self.state_path is not None and self.store.revision != self.saved_revision:
            self.store.save(self.state_path)
            self.saved_revision = self.store.revision

    def _check_namespace(self, res: Resource, namespace: str) -> None:
        if res.namespaced and self.store.get("namespaces", "", namespace) is None:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found')

    def get(self, res: Resource, namespace: str, name: str) -> Obj:
        """One object, or NotFound."""
        obj = self.store.get(res.key, namespace if res.namespaced else "", name)
        if obj is None:
            raise not_found(res, name)
        return obj

    def create(self, res: Resource, namespace: str, obj: Obj, dry_run: bool = False) -> Obj:
        """Create an object (generateName, defaults, AlreadyExists)."""
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request",
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + pods.random_suffix()
        if not meta.get("name"):
            raise ApiError(
                422,
                "Invalid",
                f"{res.kind} is invalid: metadata.name: Required value: name is required",
            )
        self._check_namespace(res, namespace)
        if self.store.get(res.key, meta.get("namespace", ""), meta["name"]) is not None:
            raise ApiError(409, "AlreadyExists", f'{res.key} "{meta["name"]}" already exists')
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        for transient in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp"):
            meta.pop(transient, None)
        defaults.apply_defaults(res.kind, obj)
        if dry_run:
            return self.store.stamped(res.key, obj)
        stored = self.store.put(res.key, obj)
        if res.kind == "CustomResourceDefinition":
            self.catalog.add_crd(stored)
        self.settle()
        return stored

    def update(
        self,
        res: Resource,
        namespace: str,
        name: str,
        obj: Obj,
        subresource: str = "",
        dry_run: bool = False,
    ) -> Obj:
        """Replace an object (or only its status or finalizers), checking resourceVersion."""
        current = self.get(res, namespace, name)
        meta = obj.setdefault("metadata", {})
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.key} "{name}": '
                "the object has been modified; "
                "please apply your changes to the latest version and try again",
            )
        if meta.get("name", name) != name:
            raise ApiError(
                400,
                "BadRequest",
                f"the name of the object ({meta.get('name')}) does not match "
                f"the name on the URL ({name})",
            )
        if subresource == "status":
            updated: Obj = clone(current)
            updated["status"] = obj.get("status", {})
        elif subresource == "finalize":
            updated = clone(current)
            finalizers = (obj.get("spec") or {}).get("finalizers") or []
            updated.setdefault("spec", {})["finalizers"] = finalizers
        else:
            updated = obj
            updated["apiVersion"], updated["kind"] = res.api_version, res.kind
            meta["name"] = name
            if res.namespaced:
                meta["namespace"] = namespace
            if "status" in res.subresources and "status" in current:
                updated["status"] = current["status"]
            defaults.apply_defaults(res.kind, updated)
        if dry_run:
            return self.store.stamped(res.key, updated)
        stored = self.store.put(res.key, updated)
        if res.kind == "CustomResourceDefinition":
            self.catalog.add_crd(stored)
        self.settle()
        return self.store.get(res.key, namespace if res.namespaced else "", name) or stored

    def delete(
        self,
        res: Resource,
        namespace: str,
        name: str,
        propagation: str = "Background",
        dry_run: bool = False,
    ) -> Obj:
        """Delete an object; dependents are collected unless the policy is Orphan."""
        current = self.get(res, namespace, name)
        if dry_run:
            return current
        uid = current["metadata"]["uid"]
        if propagation == "Orphan":
            for key, obj in list(self.store.all_objects()):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    orphan = clone(obj)
                    orphan["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    self.store.put(key, orphan)
        if res.kind == "Namespace":
            for key, obj in list(self.store.all_objects()):
                if obj["metadata"].get("namespace") == name:
                    self.store.delete(key, name, obj["metadata"]["name"])
        removed = self.store.delete(res.key, namespace if res.namespaced else "", name) or current
        self.settle()
        return removed

    def list(self, res: Resource, namespace: str | None) -> builtins.list[Obj]:
        """Every object of a resource, in one namespace or all."""
        return self.store.list(res.key, namespace if res.namespaced else None)

    def apply_many(self, objects: builtins.list[Any]) -> None:
        """Create objects as a seed does (kind looked up from apiVersion/kind)."""
        for obj in objects:
            res = self.catalog.by_kind(obj["apiVersion"], obj["kind"])
            if res is None:
                raise ApiError(
                    400, "BadRequest", f"no resource for {obj['apiVersion']!r} {obj['kind']!r}"
                )
            self.create(res, obj.get("metadata", {}).get("namespace", ""), obj)
