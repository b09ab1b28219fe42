"""The emulated cluster: object CRUD with API-server semantics on top of the store.

`http.writes` and `http.api` translate requests into these calls; `seed` and `server` use them
to build the demo world. A write goes through the API server's steps: conversion to the storage
version, defaulting, validation (a CRD's schema for custom resources), admission; then the
store, the controllers (`controllers.loop`) and the state file. Deletes honour finalizers.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsgate.sandbox.apiserver import admission, crds, defaults, typed, validation
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.resources import Catalog, Resource
from opsgate.sandbox.apiserver.store import Obj, Store, clone
from opsgate.sandbox.controllers import garbage, loop, scheduler
from opsgate.sandbox.kinds import registry

__all__ = ["ApiError", "Cluster", "not_found"]


def not_found(res: Resource, name: str) -> ApiError:
    """The NotFound error for one object."""
    return ApiError(
        404,
        "NotFound",
        f'{res.key} "{name}" not found',
        {"name": name, "group": res.group, "kind": res.plural},
    )


def _catalog() -> Catalog:
    return Catalog(registry.resources())


@dataclass
class Cluster:
    """Store, catalog and controllers of one sandbox."""

    store: Store = field(default_factory=Store)
    catalog: Catalog = field(default_factory=_catalog)
    extra_controllers: list[Callable[[Store], bool]] = field(default_factory=list)
    state_path: Path | None = None
    saved_revision: int = 0
    token_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    """Signs the ServiceAccount tokens this server issues (`authn`); new on every start."""

    def settle(self) -> None:
        """Run the controllers and persist."""
        loop.reconcile(self.store, self.extra_controllers)
        if self.state_path is not None and self.store.revision != self.saved_revision:
            self.store.save(self.state_path)
            self.saved_revision = self.store.revision

    def restore_crds(self) -> None:
        """Serve the CRDs of a loaded state file."""
        for crd in self.store.scan(crds.KEY):
            crds.serve(self.catalog, crd)

    def _check_namespace(self, res: Resource, namespace: str) -> None:
        if res.namespaced and self.store.peek("namespaces", "", namespace) is None:
            raise ApiError(
                404,
                "NotFound",
                f'namespaces "{namespace}" not found',
                {"name": namespace, "kind": "namespaces"},
            )

    def crd_of(self, res: Resource) -> Obj | None:
        """The CustomResourceDefinition serving a custom resource."""
        return self.store.peek(crds.KEY, "", res.key) if res.custom else None

    def view(self, res: Resource, obj: Obj) -> Obj:
        """A stored object as `res`'s version shows it."""
        if obj.get("apiVersion") == res.api_version:
            return obj
        kind = registry.kind_of(res)
        if kind is not None and kind.convert is not None:
            return kind.convert(obj, res.version)
        return {**obj, "apiVersion": res.api_version}

    def _stored_form(self, res: Resource, obj: Obj) -> Obj:
        """`obj` in the storage version of its kind (the first resource of the kind)."""
        kind = registry.kind_of(res)
        if kind is not None and kind.convert is not None and kind.resources[0] != res:
            return kind.convert(obj, kind.resources[0].version)
        return obj

    def _storage_res(self, res: Resource) -> Resource:
        kind = registry.kind_of(res)
        return kind.resources[0] if kind is not None else res

    def get(self, res: Resource, namespace: str, name: str) -> Obj:
        """One object, or NotFound."""
        obj = self.store.get(res.key, namespace if res.namespaced else "", name)
        if obj is None:
            raise not_found(res, name)
        return self.view(res, obj)

    def _admit(self, res: Resource, obj: Obj, old: Obj | None, strict: bool) -> Obj:
        """Defaults, validation and admission of a new (`old` None) or replaced object."""
        crd = self.crd_of(res)
        if crd is None:
            typed.check(res, obj, strict)  # decoding comes before defaults on a real server
        defaults.apply_defaults(res, obj)
        if crd is not None:
            obj = crds.admit(crd, obj, strict)
        else:
            validation.validate(res, obj, old)
        if res.kind == "CustomResourceDefinition" and not res.custom:
            crds.check(obj)
            crds.established(obj)
        return admission.admit(self.store, res, obj, old)

    def create(
        self, res: Resource, namespace: str, obj: Obj, dry_run: bool = False, strict: bool = False
    ) -> Obj:
        """Create an object (generateName, defaults, validation, admission, AlreadyExists)."""
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
            meta["name"] = meta["generateName"] + scheduler.random_suffix()
        if not meta.get("name"):
            raise ApiError(
                422,
                "Invalid",
                f"{res.kind} is invalid: metadata.name: Required value: name is required",
            )
        self._check_namespace(res, namespace)
        if self.store.peek(res.key, meta.get("namespace", ""), meta["name"]) is not None:
            raise ApiError(
                409,
                "AlreadyExists",
                f'{res.key} "{meta["name"]}" already exists',
                {"name": meta["name"], "group": res.group, "kind": res.plural},
            )
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        for transient in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp"):
            meta.pop(transient, None)
        if res.custom and "status" in res.subresources:
            obj.pop("status", None)
        storage_res = self._storage_res(res)
        obj = self._admit(storage_res, self._stored_form(res, obj), None, strict)
        if dry_run:
            return self.view(res, self.store.stamped(res.key, obj))
        stored = self.store.put(res.key, obj)
        if res.kind == "CustomResourceDefinition" and not res.custom:
            crds.serve(self.catalog, stored)
        self.settle()
        return self.view(
            res, self.store.get(res.key, meta.get("namespace", ""), meta["name"]) or stored
        )

    def update(
        self,
        res: Resource,
        namespace: str,
        name: str,
        obj: Obj,
        subresource: str = "",
        dry_run: bool = False,
        strict: bool = False,
    ) -> Obj:
        """Replace an object (or only its status or finalizers), checking resourceVersion."""
        namespace = namespace if res.namespaced else ""
        stored = self.store.get(res.key, namespace, name)
        if stored is None:
            raise not_found(res, name)
        meta = obj.setdefault("metadata", {})
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and wanted_rv != stored["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {res.key} "{name}": '
                "the object has been modified; "
                "please apply your changes to the latest version and try again",
                {"name": name, "group": res.group, "kind": res.plural},
            )
        if meta.get("name", name) != name:
            raise ApiError(
                400,
                "BadRequest",
                f"the name of the object ({meta.get('name')}) does not match "
                f"the name on the URL ({name})",
            )
        storage_res = self._storage_res(res)
        if subresource == "status":
            updated: Obj = clone(stored)
            updated["status"] = self._stored_form(res, {**obj, "apiVersion": res.api_version}).get(
                "status", {}
            )
        elif subresource == "finalize":
            updated = clone(stored)
            finalizers = (obj.get("spec") or {}).get("finalizers") or []
            updated.setdefault("spec", {})["finalizers"] = finalizers
        else:
            obj["apiVersion"], obj["kind"] = res.api_version, res.kind
            meta["name"] = name
            if res.namespaced:
                meta["namespace"] = namespace
            for kept in ("uid", "creationTimestamp", "deletionTimestamp"):
                if kept in stored["metadata"]:
                    meta[kept] = stored["metadata"][kept]
            updated = self._stored_form(res, obj)
            if "status" in res.subresources and "status" in stored:
                updated["status"] = stored["status"]
            updated = self._admit(storage_res, updated, stored, strict)
        if dry_run:
            return self.view(res, self.store.stamped(res.key, updated))
        written = self.store.put(res.key, updated)
        if res.kind == "CustomResourceDefinition" and not res.custom:
            crds.serve(self.catalog, written)
        garbage.finished(self.store, res.key, written)
        self.settle()
        found = self.store.get(res.key, namespace, name)
        return self.view(res, found if found is not None else written)

    def delete(
        self,
        res: Resource,
        namespace: str,
        name: str,
        propagation: str = "Background",
        dry_run: bool = False,
    ) -> Obj:
        """Delete an object: dependents are collected unless the policy is Orphan; an object
        with finalizers (a namespace always) is only marked until they are done."""
        current = self.get(res, namespace, name)
        if dry_run:
            return current
        uid = current["metadata"]["uid"]
        dependents = [
            (key, obj)
            for key, obj in list(self.store.all_objects())
            if any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])
        ]
        if propagation == "Orphan":
            for key, obj in dependents:
                orphan = clone(obj)
                refs = orphan["metadata"].get("ownerReferences") or []
                orphan["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                self.store.put(key, orphan)
        elif propagation == "Foreground":
            for key, obj in dependents:
                garbage.remove(self.store, key, obj)
        stored = self.store.get(res.key, namespace if res.namespaced else "", name)
        if stored is None:
            raise not_found(res, name)
        if res.kind == "CustomResourceDefinition" and not res.custom:
            key = crds.unserve(self.catalog, stored)
            for obj in list(self.store.scan(key)):
                self.store.delete(
                    key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
                )
        left = garbage.remove(self.store, res.key, stored)
        self.settle()
        return self.view(res, left)

    def list(self, res: Resource, namespace: str | None) -> builtins.list[Obj]:
        """Every object of a resource, in one namespace or all."""
        found = self.store.list(res.key, namespace if res.namespaced else None)
        return [self.view(res, obj) for obj in found]

    def apply_many(self, objects: builtins.list[Any]) -> None:
        """Create objects as a seed does (kind looked up from apiVersion/kind)."""
        for obj in objects:
            res = self.catalog.by_kind(obj["apiVersion"], obj["kind"])
            if res is None:
                raise ApiError(
                    400, "BadRequest", f"no resource for {obj['apiVersion']!r} {obj['kind']!r}"
                )
            self.create(res, obj.get("metadata", {}).get("namespace", ""), obj)
