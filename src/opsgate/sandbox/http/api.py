"""The HTTP face of the sandbox Kubernetes API server (Starlette), driven by real kubectl and helm.

`server` builds the app with `create_app(cluster)`. Routes: discovery and OpenAPI (`discovery`),
then `/api/v1/...` and `/apis/<group>/<version>/...` resource paths, decoded here, authenticated
(`authn`) and authorised (`rbac`): reads answered by `cluster`, `subresources` and `tables`
(watches stream JSON lines from the store), writes by `writes`, which honours dry runs.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute

from opsgate.sandbox.apiserver import authn, rbac, selectors
from opsgate.sandbox.apiserver.cluster import Cluster
from opsgate.sandbox.apiserver.errors import ApiError
from opsgate.sandbox.apiserver.resources import Resource, Target
from opsgate.sandbox.apiserver.store import Obj, StoreFrozen, WatchEvent
from opsgate.sandbox.http import (
    discovery,
    protobuf,
    remotecommand,
    subresources,
    tables,
    writes,
)

JSON = "application/json"


def _json(body: Any, status: int = 200, media_type: str = JSON) -> Response:
    if isinstance(body, str):
        return Response(body, status_code=status, media_type="text/plain")
    return Response(json.dumps(body), status_code=status, media_type=media_type)


def _parse(cluster: Cluster, parts: list[str]) -> Target:
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    namespace = ""
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (len(rest) == 3 and rest[2] in ("status", "finalize"))
    ):
        namespace, rest = rest[1], rest[2:]
    res = cluster.catalog.find(group, version, rest[0])
    if res is None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    return Target(res, namespace, name, sub)


def _table_accept(request: Request) -> bool:
    return "as=Table" in request.headers.get("accept", "")


def _list_kind(res: Resource) -> str:
    return f"{res.kind}List"


def _filtered(request: Request, objects: list[Obj]) -> list[Obj]:
    try:
        label = selectors.label_selector(request.query_params.get("labelSelector"))
        field = selectors.field_selector(request.query_params.get("fieldSelector"))
    except ValueError as e:
        raise ApiError(400, "BadRequest", str(e)) from e
    return [o for o in objects if label(o) and field(o)]


def _present(
    cluster: Cluster, request: Request, target: Target, objects: list[Obj], single: bool
) -> Response:
    res, rv = target.resource, str(cluster.store.revision)
    if _table_accept(request):
        include = request.query_params.get("includeObject", "Metadata")
        layout = tables.layout(res, cluster.crd_of(res))
        return _json(tables.table(layout, objects, rv, include, res.kind), media_type=JSON)
    if single:
        return _json(objects[0])
    return _json(
        {
            "kind": _list_kind(res),
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": rv},
            "items": objects,
        }
    )


async def _watch(cluster: Cluster, request: Request, target: Target) -> Response:
    res, params = target.resource, request.query_params
    namespace = target.namespace if res.namespaced and target.namespace else None
    key = subresources.storage_key(res)
    store = cluster.store
    queue = store.subscribe()
    as_table = _table_accept(request)
    timeout = float(params.get("timeoutSeconds") or 1800)

    def matches(obj: Obj) -> bool:
        if namespace is not None and obj["metadata"].get("namespace") != namespace:
            return False
        if target.name and obj["metadata"]["name"] != target.name:
            return False
        return bool(_filtered(request, [obj]))

    layout = tables.layout(res, cluster.crd_of(res)) if as_table else None

    def line(event_type: str, obj: Obj) -> bytes:
        obj = cluster.view(res, obj)
        if layout is not None and event_type != "BOOKMARK":
            rv = obj["metadata"].get("resourceVersion", "")
            obj = tables.table(layout, [obj], rv, "Object", res.kind)
        return (json.dumps({"type": event_type, "object": obj}) + "\n").encode()

    rv = params.get("resourceVersion", "")
    initial: list[bytes] = []
    last = store.revision
    if params.get("sendInitialEvents") == "true" or rv in ("", "0"):
        initial = [line("ADDED", o) for o in store.list(key, namespace) if matches(o)]
        if params.get("sendInitialEvents") == "true":
            bookmark = {
                "kind": res.kind,
                "apiVersion": res.api_version,
                "metadata": {
                    "resourceVersion": str(last),
                    "annotations": {"k8s.io/initial-events-end": "true"},
                },
            }
            initial.append((json.dumps({"type": "BOOKMARK", "object": bookmark}) + "\n").encode())
    else:
        history = store.since(key, int(rv))
        if history is None:
            gone = ApiError(
                410, "Expired", f"too old resource version: {rv} ({store.revision})"
            ).status()
            initial = [(json.dumps({"type": "ERROR", "object": gone}) + "\n").encode()]
        else:
            initial = [line(e.type, e.object) for e in history if matches(e.object)]

    async def stream() -> Any:
        try:
            for chunk in initial:
                yield chunk
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                try:
                    event: WatchEvent = await asyncio.wait_for(queue.get(), remaining)
                except TimeoutError:
                    return
                if (
                    event.resource_version <= last
                    or event.resource_key != key
                    or not matches(event.object)
                ):
                    continue
                yield line(event.type, event.object)
        finally:
            store.unsubscribe(queue)

    return StreamingResponse(stream(), media_type=JSON)


_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def _attributes(request: Request, target: Target) -> rbac.Attributes:
    """What RBAC judges of a request: verb, group, resource, subresource, namespace, name."""
    method, name = request.method, target.name
    if method == "GET":
        watching = request.query_params.get("watch") in ("true", "1")
        verb = "watch" if watching else "get" if name else "list"
    elif method == "DELETE":
        verb = "delete" if name else "deletecollection"
    else:
        verb = _VERBS.get(method, method.lower())
    res = target.resource
    # A namespace's own namespace is itself, as kube-apiserver's request info has it.
    namespace = name if res.key == "namespaces" and name else target.namespace
    return rbac.Attributes(verb, res.group, res.plural, target.subresource, namespace, name)


async def resource_endpoint(request: Request) -> Response:
    """Every `/api/...` and `/apis/...` resource request."""
    cluster: Cluster = request.app.state.cluster
    parts = [p for p in request.url.path.split("/") if p]
    try:
        target = _parse(cluster, parts)
        groups = request.headers.getlist("impersonate-group")
        user = authn.identify(cluster.store, cluster.token_key, request.headers, groups)
        rbac.authorize(cluster.store, user, _attributes(request, target))
        if target.resource.group in subresources.VIRTUAL_GROUPS:
            return _json(*await subresources.virtual(cluster, request, target, user))
        if target.resource.key == "serviceaccounts" and target.subresource == "token":
            account = cluster.get(target.resource, target.namespace, target.name)
            body = writes.decode(await request.body(), request.headers.get("content-type", ""))
            return _json(authn.issue(cluster.token_key, account, body), 201)
        return await _dispatch(cluster, request, target)
    except ApiError as e:
        return _json(e.status(), e.code)
    except (protobuf.ProtobufError, json.JSONDecodeError, yaml.YAMLError) as e:
        return _json(
            ApiError(400, "BadRequest", f"cannot decode the request body: {e}").status(), 400
        )
    except StoreFrozen as e:
        # A dry-run path that tried to write is a sandbox bug; the store refused, nothing changed.
        return _json(ApiError(500, "InternalError", f"{e}; nothing was changed").status(), 500)


async def _dispatch(cluster: Cluster, request: Request, target: Target) -> Response:
    res, ns, name, sub = target.resource, target.namespace, target.name, target.subresource
    method, params = request.method, request.query_params
    if sub and sub not in res.subresources:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if sub == "exec":
        raise ApiError(400, "BadRequest", remotecommand.SPDY_REFUSED)
    if sub in subresources.STREAMING:
        raise ApiError(400, "BadRequest", subresources.STREAMING_UNSUPPORTED)
    if method != "GET":
        # The body is read before anything is decided: a dry run must run without a pause
        # in which another request (or the clock's tick) could write.
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        return _json(*writes.write(cluster, method, target, params, content_type, raw))
    if sub in ("log", "scale", "eviction"):
        return _json(*subresources.read(cluster, request, target))
    if params.get("watch") in ("true", "1"):
        return await _watch(cluster, request, target)
    if name:
        return _present(cluster, request, target, [cluster.get(res, ns, name)], single=True)
    objects = cluster.list(res, ns or None)
    return _present(cluster, request, target, _filtered(request, objects), single=False)


async def discovery_endpoint(request: Request) -> Response:
    """`/api`, `/apis`, `/apis/<group>`, `/api/v1`, `/apis/<group>/<version>` documents."""
    cluster: Cluster = request.app.state.cluster
    parts = [p for p in request.url.path.split("/") if p]
    accept = request.headers.get("accept", "")
    if len(parts) == 1 and discovery.wants_aggregated(accept):
        return _json(
            discovery.aggregated(cluster.catalog, core=parts[0] == "api"),
            media_type=discovery.AGGREGATED_TYPE,
        )
    doc: Any
    if parts == ["api"]:
        doc = discovery.api_versions(request.url.netloc)
    elif parts == ["apis"]:
        doc = discovery.api_groups(cluster.catalog)
    elif len(parts) == 2 and parts[0] == "apis":
        doc = discovery.api_group(cluster.catalog, parts[1])
    elif len(parts) == 2:
        doc = discovery.resource_list(cluster.catalog, "", parts[1])
    else:
        doc = discovery.resource_list(cluster.catalog, parts[1], parts[2])
    if doc is None:
        return _json(
            ApiError(404, "NotFound", "the server could not find the requested resource").status(),
            404,
        )
    return _json(doc)


async def version_endpoint(request: Request) -> Response:
    """`/version`."""
    return JSONResponse(discovery.VERSION)


async def health_endpoint(request: Request) -> Response:
    """`/healthz`, `/livez`, `/readyz`."""
    return Response("ok", media_type="text/plain")


async def openapi_endpoint(request: Request) -> Response:
    """`/openapi/v3` and its group-version documents; `/openapi/v2` is an empty document.

    kubectl validates against v3, and falls back to v2 for a group-version v3 does not list
    (`batch/v1beta1`): the empty v2 document lets it go on to the real error, "no matches
    for kind", as against a real server that no longer serves that version.
    """
    cluster: Cluster = request.app.state.cluster
    parts = [p for p in request.url.path.split("/") if p][2:]
    if request.url.path.startswith("/openapi/v2"):
        # An empty protobuf message is a valid `openapi.v2.Document` with no definitions.
        return Response(b"", media_type="application/octet-stream")
    if not parts:
        return _json(discovery.openapi_root(cluster.catalog))
    group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
    return _json(discovery.openapi_document(cluster.catalog, group, version))


def create_app(cluster: Cluster) -> Starlette:
    """The ASGI app serving one cluster."""
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(
        routes=[
            Route("/version", version_endpoint),
            Route("/healthz", health_endpoint),
            Route("/livez", health_endpoint),
            Route("/readyz", health_endpoint),
            Route("/openapi/{rest:path}", openapi_endpoint),
            Route("/api", discovery_endpoint),
            Route("/apis", discovery_endpoint),
            Route("/api/{version}", discovery_endpoint),
            Route("/apis/{group}", discovery_endpoint),
            Route("/apis/{group}/{version}", discovery_endpoint),
            WebSocketRoute(
                "/api/v1/namespaces/{namespace}/pods/{name}/exec", remotecommand.exec_endpoint
            ),
            Route("/{rest:path}", resource_endpoint, methods=methods),
        ]
    )
    app.state.cluster = cluster
    return app
