"""CustomResourceDefinitions: what a CRD serves, and its schema applied to custom resources.

Called by `cluster` when a CRD is written (its status: names accepted, established; its
versions added to the catalog, or removed with the CRD and every object of it) and for every
write of a custom resource: the version's `openAPIV3Schema` defaults missing fields, prunes
unknown ones (or refuses them under `fieldValidation=Strict`) and validates types, required
fields, enums, patterns, bounds and sizes with the API server's messages. CEL rules
(`x-kubernetes-validations`) are not evaluated.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from opsgate.sandbox.apiserver.errors import ApiError, invalid
from opsgate.sandbox.apiserver.resources import Catalog, Resource
from opsgate.sandbox.apiserver.store import Obj, now_iso
from opsgate.sandbox.kinds.base import Cause, required, unsupported
from opsgate.sandbox.kinds.base import invalid as invalid_cause

KEY = "customresourcedefinitions.apiextensions.k8s.io"
_META_FIELDS = ("apiVersion", "kind", "metadata")


def version_of(crd: Obj, version: str) -> Obj | None:
    for ver in crd.get("spec", {}).get("versions") or []:
        if ver.get("name") == version:
            return dict(ver)
    return None


def resources_of(crd: Obj) -> list[Resource]:
    """The resources a CRD serves, one per served version."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    found = []
    for ver in spec.get("versions") or []:
        if not ver.get("served", True):
            continue
        found.append(
            Resource(
                group=spec.get("group", ""),
                version=ver["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or []),
                subresources=tuple((ver.get("subresources") or {}).keys()),
                categories=tuple(names.get("categories") or []),
                custom=True,
            )
        )
    return found


def check(crd: Obj) -> None:
    """Refuse a CRD the API server would refuse (422)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    name = str(crd.get("metadata", {}).get("name", ""))
    causes: list[Cause] = []
    for field in ("plural", "kind"):
        if not names.get(field):
            causes.append(required(f"spec.names.{field}"))
    if not spec.get("group"):
        causes.append(required("spec.group"))
    if names.get("plural") and spec.get("group") and name != f"{names['plural']}.{spec['group']}":
        causes.append(
            invalid_cause("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        )
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(unsupported("spec.scope", spec.get("scope", ""), ["Cluster", "Namespaced"]))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(
            required("spec.versions", "must have exactly one version marked as storage version")
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            invalid_cause(
                "spec.versions", "...", "must have exactly one version marked as storage version"
            )
        )
    for index, ver in enumerate(versions):
        schema = (ver.get("schema") or {}).get("openAPIV3Schema")
        if schema is None:
            causes.append(
                required(f"spec.versions[{index}].schema.openAPIV3Schema", "schemas are required")
            )
    if causes:
        raise invalid("apiextensions.k8s.io", "CustomResourceDefinition", name, causes)


def established(crd: Obj) -> Obj:
    """The CRD with the status the API server gives an accepted definition."""
    spec = crd.get("spec", {})
    now = now_iso()
    storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
    stored = list((crd.get("status") or {}).get("storedVersions") or [])
    crd["status"] = {
        "acceptedNames": dict(spec.get("names") or {}),
        "storedVersions": stored + [v for v in storage if v not in stored],
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": now,
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": now,
            },
        ],
    }
    crd["status"]["acceptedNames"].setdefault(
        "singular", spec.get("names", {}).get("kind", "").lower()
    )
    crd["status"]["acceptedNames"].setdefault(
        "listKind", spec.get("names", {}).get("kind", "") + "List"
    )
    return crd


def serve(catalog: Catalog, crd: Obj) -> None:
    """Make the catalog serve exactly what `crd` declares now."""
    key = f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"
    catalog.resources = [r for r in catalog.resources if r.key != key or not r.custom]
    for res in resources_of(crd):
        if catalog.find(res.group, res.version, res.plural) is None:
            catalog.resources.append(res)


def unserve(catalog: Catalog, crd: Obj) -> str:
    """Stop serving a deleted CRD's resources; returns their storage key."""
    spec = crd.get("spec", {})
    key = f"{spec.get('names', {}).get('plural', '')}.{spec.get('group', '')}"
    catalog.resources = [r for r in catalog.resources if r.key != key or not r.custom]
    return key


# --- custom resources -------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fits(value: Any, kind: str, schema: Obj) -> bool:
    actual = _type_name(value)
    if schema.get("x-kubernetes-int-or-string"):
        return actual in ("integer", "string")
    if value is None and schema.get("nullable"):
        return True
    if kind == "number":
        return actual in ("integer", "number")
    return actual == kind


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return '"' + _type_name(value) + '"'
    return str(value)


class _Walk:
    """One pass over a custom resource: defaults, pruning and errors."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.causes: list[Cause] = []
        self.unknown: list[str] = []

    def node(self, value: Any, schema: Obj, path: str) -> Any:
        if not isinstance(schema, dict):
            return value
        kind = schema.get("type")
        if kind and not _fits(value, str(kind), schema):
            self.causes.append(
                Cause(
                    path,
                    "FieldValueInvalid" if value is not None else "FieldValueRequired",
                    f"Invalid value: {_shown(value)}: {path} in body must be of type {kind}: "
                    f'"{_type_name(value)}"',
                )
            )
            return value
        self._scalar_rules(value, schema, path)
        if isinstance(value, dict):
            return self._object(value, schema, path)
        if isinstance(value, list):
            items = schema.get("items")
            if isinstance(items, dict):
                return [self.node(item, items, f"{path}[{i}]") for i, item in enumerate(value)]
        return value

    def _object(self, value: Obj, schema: Obj, path: str) -> Obj:
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get(
            "x-kubernetes-embedded-resource"
        )
        out = dict(value)
        for name, sub in (properties or {}).items():
            if name not in out and isinstance(sub, dict) and "default" in sub:
                out[name] = copy.deepcopy(sub["default"])
        for name in list(out):
            where = f"{path}.{name}" if path else name
            if properties and name in properties:
                out[name] = self.node(out[name], properties[name], where)
            elif isinstance(extra, dict):
                out[name] = self.node(out[name], extra, where)
            elif extra is True or preserve:
                continue
            elif properties is not None or schema.get("type") == "object":
                self._unknown(out, name, where)
        for name in schema.get("required") or []:
            if name not in out:
                self.causes.append(required(f"{path}.{name}" if path else name))
        return out

    def _unknown(self, out: Obj, name: str, where: str) -> None:
        if self.strict:
            self.unknown.append(where)
        del out[name]

    def _scalar_rules(self, value: Any, schema: Obj, path: str) -> None:
        enum = schema.get("enum")
        if enum is not None and value not in enum:
            self.causes.append(unsupported(path, value, [str(e) for e in enum]))
        if isinstance(value, str):
            pattern = schema.get("pattern")
            if pattern and not re.search(pattern, value):
                self.causes.append(
                    invalid_cause(path, value, f"{path} in body should match '{pattern}'")
                )
            if "maxLength" in schema and len(value) > int(schema["maxLength"]):
                self.causes.append(
                    Cause(
                        path,
                        "FieldValueTooLong",
                        f"Too long: may not be more than {schema['maxLength']} bytes",
                    )
                )
            if "minLength" in schema and len(value) < int(schema["minLength"]):
                self.causes.append(
                    invalid_cause(
                        path,
                        value,
                        f"{path} in body should be at least {schema['minLength']} chars long",
                    )
                )
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                self.causes.append(
                    invalid_cause(
                        path,
                        value,
                        f"{path} in body should be greater than or equal to {schema['minimum']}",
                    )
                )
            if "maximum" in schema and value > schema["maximum"]:
                self.causes.append(
                    invalid_cause(
                        path,
                        value,
                        f"{path} in body should be less than or equal to {schema['maximum']}",
                    )
                )
        if isinstance(value, list):
            if "maxItems" in schema and len(value) > int(schema["maxItems"]):
                self.causes.append(
                    Cause(
                        path,
                        "FieldValueInvalid",
                        f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
                    )
                )
            if "minItems" in schema and len(value) < int(schema["minItems"]):
                self.causes.append(
                    invalid_cause(
                        path,
                        len(value),
                        f"{path} in body should have at least {schema['minItems']} items",
                    )
                )


def admit(crd: Obj, obj: Obj, strict: bool) -> Obj:
    """A custom resource as its CRD's schema makes it (defaulted, pruned), or a 422/400."""
    version = obj.get("apiVersion", "").rsplit("/", 1)[-1]
    ver = version_of(crd, version) or {}
    schema = (ver.get("schema") or {}).get("openAPIV3Schema") or {}
    walk = _Walk(strict)
    body = {k: v for k, v in obj.items() if k not in _META_FIELDS}
    top = dict(schema)
    top_props = dict(top.get("properties") or {})
    for name in _META_FIELDS:
        top_props.pop(name, None)
    top["properties"] = top_props
    checked = walk.node(body, top, "")
    kind = crd.get("spec", {}).get("names", {}).get("kind", "")
    name = str(obj.get("metadata", {}).get("name", ""))
    if walk.unknown:
        fields = ", ".join(f'unknown field "{field}"' for field in walk.unknown)
        raise ApiError(
            400,
            "BadRequest",
            f'{kind} in version "{version}" cannot be handled as a {kind}: '
            f"strict decoding error: {fields}",
        )
    if walk.causes:
        raise invalid(crd.get("spec", {}).get("group", ""), kind, name, walk.causes)
    return {**{k: obj[k] for k in _META_FIELDS if k in obj}, **checked}
