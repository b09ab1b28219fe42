"""The write paths of the sandbox API server, every one honouring `dryRun` as the real one does.

Called by `api` for POST, PUT, PATCH and DELETE on resource paths: create, replace, the three
patch types and server-side apply, delete and deletecollection, and the writable subresources
(`status`, `finalize`, `scale`, `eviction`). A dry run (`?dryRun=All`, or `dryRun: [All]` in
the DeleteOptions of a delete or an eviction, as kubectl sends them) answers what the request
would answer (the object as it would be, admission errors, 404s, conflicts) while the store
refuses every write, so nothing changes: no resourceVersion, no controller pass, no event, no
generated name kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from starlette.datastructures import QueryParams

from opsgate.sandbox.apiserver import apply, selectors
from opsgate.sandbox.apiserver.cluster import Cluster
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.patch import PatchError, json_patch, merge_patch, strategic_merge
from opsgate.sandbox.apiserver.resources import Target
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.http import protobuf, subresources

Answer = tuple[Any, int]
"""A response body and its HTTP status code."""
PATCHABLE = ("", "status", "scale")
"""Where PATCH is served (`finalize` takes only PUT, `eviction` only POST)."""


def decode(raw: bytes, content_type: str) -> Any:
    """A request body as JSON data (from JSON, YAML or client-go's protobuf envelope)."""
    if not raw:
        return {}
    if "protobuf" in content_type:
        return protobuf.decode(raw)
    if "yaml" in content_type:
        return yaml.safe_load(raw)
    return json.loads(raw)


def _dry_run(values: Any) -> bool:
    """Whether `dryRun` values ask for a dry run; only `All` exists."""
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ApiError(400, "BadRequest", "dryRun must be a list of strings")
    for value in values:
        if value != "All":
            raise ApiError(
                400, "BadRequest", f'dryRun: Unsupported value: "{value}": supported values: "All"'
            )
    return bool(values)


def _strict(params: QueryParams) -> bool:
    """`fieldValidation=Strict`: unknown fields are refused (custom resources; built-in kinds
    are not checked field by field)."""
    return params.get("fieldValidation") == "Strict"


def write(
    cluster: Cluster,
    method: str,
    target: Target,
    params: QueryParams,
    content_type: str,
    raw: bytes,
) -> Answer:
    """Answer one write request, changing nothing when it is a dry run."""
    body: Any = {} if method == "PATCH" else decode(raw, content_type)
    if not isinstance(body, Mapping):
        raise ApiError(400, "BadRequest", "the request body must be an object")
    options: Any = {}
    if target.subresource == "eviction":
        options = body.get("deleteOptions") or {}
    elif method == "DELETE":
        options = body
    if not isinstance(options, Mapping):
        raise ApiError(400, "BadRequest", "deleteOptions must be an object")
    dry_run = _dry_run(params.getlist("dryRun")) | _dry_run(options.get("dryRun") or [])
    if not dry_run:
        return _route(cluster, method, target, params, content_type, raw, dict(body), options)
    with cluster.store.read_only():
        return _route(cluster, method, target, params, content_type, raw, dict(body), options, True)


def _route(
    cluster: Cluster,
    method: str,
    target: Target,
    params: QueryParams,
    content_type: str,
    raw: bytes,
    body: Obj,
    options: Mapping[str, Any],
    dry_run: bool = False,
) -> Answer:
    res, ns, name, sub = target.resource, target.namespace, target.name, target.subresource
    if method == "POST" and sub == "eviction":
        cluster.delete(res, ns, name, dry_run=dry_run)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "code": 201,
        }, 201
    if method == "PATCH" and name and sub in PATCHABLE:
        return _patch(cluster, target, params, content_type, raw, dry_run)
    if method == "PUT" and sub == "scale":
        return subresources.set_scale(cluster, res, ns, name, body, dry_run), 200
    if method == "PUT" and name and sub in ("", "status", "finalize"):
        return cluster.update(res, ns, name, body, sub, dry_run, _strict(params)), 200
    if method == "POST" and not name and not sub:
        return cluster.create(res, ns, body, dry_run, _strict(params)), 201
    policy = params.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
    if method == "DELETE" and name and not sub:
        return cluster.delete(res, ns, name, policy, dry_run), 200
    if method == "DELETE" and not name:
        try:
            label = selectors.label_selector(params.get("labelSelector"))
            field = selectors.field_selector(params.get("fieldSelector"))
        except ValueError as e:
            raise ApiError(400, "BadRequest", str(e)) from e
        matching = [o for o in cluster.list(res, ns or None) if label(o) and field(o)]
        deleted = [
            cluster.delete(
                res, o["metadata"].get("namespace", ""), o["metadata"]["name"], policy, dry_run
            )
            for o in matching
        ]
        return {
            "kind": f"{res.kind}List",
            "apiVersion": res.api_version,
            "metadata": {},
            "items": deleted,
        }, 200
    raise ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def _patched(current: Obj, body: bytes, content_type: str, manager: str = "") -> Obj:
    try:
        if "json-patch" in content_type:
            result = json_patch(current, json.loads(body))
        elif "merge-patch" in content_type and "strategic" not in content_type:
            result = merge_patch(current, json.loads(body))
        elif "strategic" in content_type:
            result = strategic_merge(current, json.loads(body))
        elif "apply-patch" in content_type:
            result = apply.server_side_apply(current, yaml.safe_load(body), manager)
        else:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format: {content_type}",
            )
    except (PatchError, ValueError, TypeError, IndexError, KeyError) as e:
        raise ApiError(422, "Invalid", f"the request is invalid: {e}") from e
    if not isinstance(result, dict):
        raise ApiError(422, "Invalid", "the patch does not yield an object")
    return result


def _patch(
    cluster: Cluster,
    target: Target,
    params: QueryParams,
    content_type: str,
    raw: bytes,
    dry_run: bool,
) -> Answer:
    res, ns, name = target.resource, target.namespace, target.name
    if target.subresource == "scale":
        current = subresources.scale_of(cluster.get(res, ns, name))
        scale = _patched(current, raw, content_type)
        return subresources.set_scale(cluster, res, ns, name, scale, dry_run), 200
    manager = params.get("fieldManager") or ""
    try:
        current = cluster.get(res, ns, name)
    except ApiError:
        if "apply-patch" not in content_type or target.subresource:
            raise
        created = apply.server_side_apply(None, yaml.safe_load(raw) or {}, manager)
        return cluster.create(res, ns, created, dry_run, _strict(params)), 201
    updated = _patched(current, raw, content_type, manager)
    updated["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    return cluster.update(res, ns, name, updated, target.subresource, dry_run, _strict(params)), 200
