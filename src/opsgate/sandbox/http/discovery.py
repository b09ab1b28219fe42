"""Discovery documents of the sandbox API server: `/version`, `/api`, `/apis`, OpenAPI v3.

Called by `api`. Serves both legacy discovery (APIResourceList per group version) and the
aggregated `apidiscovery.k8s.io/v2` form kubectl asks for first. The OpenAPI v3 documents are
minimal: one PATCH operation per kind that declares the `fieldValidation` parameter, which is
what kubectl checks before it lets the server validate `apply -f` (no `--validate=false` needed).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from opsgate.sandbox.apiserver.resources import SUBRESOURCE_KINDS, Catalog, Resource

AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
SUBRESOURCE_VERBS = {
    "scale": ["get", "patch", "update"],
    "status": ["get", "patch", "update"],
    "log": ["get"],
    "eviction": ["create"],
    "exec": ["create", "get"],
    "attach": ["create", "get"],
    "portforward": ["create", "get"],
    "finalize": ["update"],
}

VERSION = {
    "major": "1",
    "minor": "35",
    "emulationMajor": "1",
    "emulationMinor": "35",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "34",
    "gitVersion": "v1.35.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def wants_aggregated(accept: str) -> bool:
    """Whether the client accepts aggregated (v2) discovery."""
    return (
        "as=APIGroupDiscoveryList" in accept
        and "v=v2" in accept
        and "v=v2beta1" not in accept.split(",")[0]
    )


def _sub_kind(res: Resource, sub: str) -> dict[str, str]:
    if sub in ("status",):
        return {"group": res.group, "version": res.version, "kind": res.kind}
    group, version, kind = SUBRESOURCE_KINDS.get(sub, (res.group, res.version, res.kind))
    return {"group": group, "version": version, "kind": kind}


def _aggregated_resource(res: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": res.plural,
        "responseKind": {"group": res.group, "version": res.version, "kind": res.kind},
        "scope": "Namespaced" if res.namespaced else "Cluster",
        "singularResource": res.singular,
        "verbs": list(res.verbs),
    }
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    if res.subresources:
        entry["subresources"] = [
            {
                "subresource": sub,
                "responseKind": _sub_kind(res, sub),
                "verbs": SUBRESOURCE_VERBS.get(sub, ["get"]),
            }
            for sub in res.subresources
        ]
    return entry


def aggregated(catalog: Catalog, core: bool) -> dict[str, Any]:
    """The APIGroupDiscoveryList for `/api` (core) or `/apis` (every named group)."""
    items = []
    for group, versions in catalog.group_versions().items():
        if (group == "") != core:
            continue
        items.append(
            {
                "metadata": {"name": group},
                "versions": [
                    {
                        "version": version,
                        "resources": [
                            _aggregated_resource(r)
                            for r in catalog.resources
                            if r.group == group and r.version == version
                        ],
                        "freshness": "Current",
                    }
                    for version in versions
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def api_versions(server_address: str) -> dict[str, Any]:
    """The legacy `/api` document."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _group(group: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_groups(catalog: Catalog) -> dict[str, Any]:
    """The legacy `/apis` document."""
    groups = [_group(g, vs) for g, vs in catalog.group_versions().items() if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(catalog: Catalog, group: str) -> dict[str, Any] | None:
    """The legacy `/apis/<group>` document."""
    versions = catalog.group_versions().get(group)
    if not versions or not group:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}


def resource_list(catalog: Catalog, group: str, version: str) -> dict[str, Any] | None:
    """The legacy APIResourceList of one group version."""
    found = [r for r in catalog.resources if r.group == group and r.version == version]
    if not found:
        return None
    resources: list[dict[str, Any]] = []
    for res in found:
        entry: dict[str, Any] = {
            "name": res.plural,
            "singularName": res.singular,
            "namespaced": res.namespaced,
            "kind": res.kind,
            "verbs": list(res.verbs),
        }
        if res.short_names:
            entry["shortNames"] = list(res.short_names)
        if res.categories:
            entry["categories"] = list(res.categories)
        resources.append(entry)
        for sub in res.subresources:
            kind = _sub_kind(res, sub)
            resources.append(
                {
                    "name": f"{res.plural}/{sub}",
                    "singularName": "",
                    "namespaced": res.namespaced,
                    "group": kind["group"],
                    "version": kind["version"],
                    "kind": kind["kind"],
                    "verbs": SUBRESOURCE_VERBS.get(sub, ["get"]),
                }
            )
    gv = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": resources,
    }


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def openapi_document(catalog: Catalog, group: str, version: str) -> dict[str, Any]:
    """A minimal OpenAPI v3 document for one group version: PATCH operations per kind."""
    paths: dict[str, Any] = {}
    for res in catalog.resources:
        if res.group != group or res.version != version or "patch" not in res.verbs:
            continue
        prefix = "/" + _gv_path(group, version)
        path = (
            f"{prefix}/namespaces/{{namespace}}/{res.plural}/{{name}}"
            if res.namespaced
            else f"{prefix}/{res.plural}/{{name}}"
        )
        media = {"schema": {"type": "object"}}
        paths[path] = {
            "patch": {
                "operationId": f"patch{res.kind}",
                "x-kubernetes-group-version-kind": {
                    "group": group,
                    "version": version,
                    "kind": res.kind,
                },
                "x-kubernetes-action": "patch",
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                ],
                "requestBody": {
                    "content": {
                        "application/json-patch+json": media,
                        "application/merge-patch+json": media,
                        "application/apply-patch+yaml": media,
                    }
                },
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.35.0"},
        "paths": paths,
        "components": {},
    }


def openapi_root(catalog: Catalog) -> dict[str, Any]:
    """The `/openapi/v3` index of group-version documents."""
    paths = {}
    for group, versions in catalog.group_versions().items():
        for version in versions:
            doc = json.dumps(openapi_document(catalog, group, version), sort_keys=True)
            digest = hashlib.sha256(doc.encode()).hexdigest()[:32].upper()
            paths[_gv_path(group, version)] = {
                "serverRelativeURL": f"/openapi/v3/{_gv_path(group, version)}?hash={digest}"
            }
    return {"paths": paths}
