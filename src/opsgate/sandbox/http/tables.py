"""Server-side Table output (`Accept: ...;as=Table;g=meta.k8s.io`), the columns `kubectl get` shows.

Called by `api` for get/list/watch requests that ask for a Table. A built-in kind's columns are
its data in `kinds` (pods READY/STATUS/RESTARTS/AGE, deployments READY/UP-TO-DATE/...); a
custom resource's are its CRD's `additionalPrinterColumns` (JSONPath), else NAME and AGE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsgate.sandbox.apiserver import jsonpath
from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds import registry
from opsgate.sandbox.kinds.base import Column, age, human_age

Row = Callable[[Obj], list[Any]]
Layout = tuple[list[Column], Row, Callable[[Obj], str]]
"""Columns after NAME, the cells of one object, and what follows its name."""


def _no_suffix(obj: Obj) -> str:
    return ""


def _cell(value: Any, kind: str) -> Any:
    if kind == "date":
        return human_age(str(value)) if value else None
    if isinstance(value, list | dict):
        return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return value


def crd_layout(crd: Obj | None, version: str) -> Layout:
    """The columns a CRD declares for one of its versions (NAME and AGE when none)."""
    declared: list[Obj] = []
    for ver in (crd or {}).get("spec", {}).get("versions") or []:
        if ver.get("name") == version:
            declared = ver.get("additionalPrinterColumns") or []
    if not declared:
        return [("Age", "date", 0)], lambda o: [age(o)], _no_suffix
    columns = [
        (str(c.get("name", "")), str(c.get("type", "string")), int(c.get("priority", 0)))
        for c in declared
    ]

    def row(obj: Obj) -> list[Any]:
        cells = []
        for column in declared:
            try:
                found = jsonpath.find(obj, str(column.get("jsonPath", "")))
            except jsonpath.JsonPathError:
                found = []
            value = found[0] if len(found) == 1 else (found or None)
            cells.append(_cell(value, str(column.get("type", "string"))))
        return cells

    return columns, row, _no_suffix


def layout(res: Resource, crd: Obj | None) -> Layout:
    """How objects of `res` print (`crd` is its CustomResourceDefinition, for custom kinds)."""
    kind = registry.kind_of(res)
    if kind is None:
        return crd_layout(crd, res.version)
    if not kind.columns or kind.row is None:
        return [("Age", "string", 0)], lambda o: [age(o)], _no_suffix
    return list(kind.columns), kind.row, kind.name_suffix or _no_suffix


def table(
    layout_: Layout, objects: list[Obj], resource_version: str, include_object: str, kind: str
) -> Obj:
    """A `meta.k8s.io/v1` Table of objects; NAME is the first column (not for events)."""
    columns, row_fn, suffix = layout_
    name_col: list[Column] = [] if kind == "Event" else [("Name", "string", 0)]
    definitions = [
        {
            "name": name,
            "type": "string" if typ == "date" else typ,
            "format": "name" if name == "Name" else "",
            "description": "",
            "priority": priority,
        }
        for name, typ, priority in [*name_col, *columns]
    ]
    rows = []
    for obj in objects:
        cells = row_fn(obj)[: len(columns)]
        if name_col:
            cells = [obj["metadata"]["name"] + suffix(obj), *cells]
        row: Obj = {"cells": cells}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": definitions,
        "rows": rows,
    }
