"""Parsing manifests and patches before they reach kubectl, within the API server's bounds.

Used by the kubectl parameter models (`k8s_apply`, `k8s_diff`, `k8s_patch`) to refuse anything
that is not Kubernetes objects, and by the apply verify recipe to find the workloads to watch.

Bounds: one object (or patch) at most `MAX_OBJECT_BYTES` as compact JSON, what the API server
stores for one object (etcd's default request limit is 1.5 MiB), so the largest public CRDs
(620-830 KB of YAML) fit and nothing the cluster would refuse for its size is sent; a manifest
at most `MAX_OBJECTS` objects and `MAX_MANIFEST_BYTES` in all. Client-side apply keeps a copy of
each object in its `last-applied-configuration` annotation, and the API server refuses more
than 256 KiB of annotations, so objects above `CLIENT_SIDE_APPLY_MAX_BYTES` need server-side
apply (`too_big_for_client_side`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from opsgate.tools import validate

MAX_OBJECT_BYTES = 1536 * 1024
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
"""Room for several of the largest objects in one manifest (a set of operator CRDs)."""
MAX_OBJECTS = 100
CLIENT_SIDE_APPLY_MAX_BYTES = 256 * 1024
"""The API server's bound on all annotations of an object (`TotalAnnotationSizeLimitB`)."""
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
# The C parser when libyaml is present: a 800 KB CRD parses in 0.3 s instead of 3 s.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RBAC_API_VERSION = re.compile(r"rbac\.authorization\.k8s\.io/v[0-9a-z]+")


def parse_objects(text: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of a YAML/JSON manifest (`List`s flattened).

    Raises:
        ValueError: not YAML, empty, or a document that is not an object with
            `apiVersion`, `kind` and `metadata.name`.
    """
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    if len(text.encode("utf-8")) > MAX_MANIFEST_BYTES:
        raise ValueError(f"must be at most {MAX_MANIFEST_BYTES} bytes")
    try:
        documents = [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc is not None]
    except yaml.YAMLError as e:
        raise ValueError(f"is not valid YAML: {str(e).splitlines()[0]}") from e
    objects: list[dict[str, Any]] = []
    for document in documents:
        if isinstance(document, dict) and document.get("kind") == "List":
            items = document.get("items")
            if not isinstance(items, list):
                raise ValueError("is a List without items")
            objects.extend(_check_object(item) for item in items)
        else:
            objects.append(_check_object(document))
    if not objects:
        raise ValueError("contains no Kubernetes objects")
    if len(objects) > MAX_OBJECTS:
        raise ValueError(f"must contain at most {MAX_OBJECTS} objects")
    for obj in objects:
        if object_bytes(obj) > MAX_OBJECT_BYTES:
            raise ValueError(
                f"has {document_name(obj)} of {object_bytes(obj)} bytes as JSON; the API server "
                f"takes at most {MAX_OBJECT_BYTES} bytes for one object"
            )
    return objects


def document_name(obj: dict[str, Any]) -> str:
    """`Kind/name` of a checked object, e.g. `CustomResourceDefinition/prometheuses.x.io`."""
    return f"{obj['kind']}/{obj['metadata']['name']}"


def object_bytes(obj: dict[str, Any]) -> int:
    """The size of an object as kubectl sends it (compact JSON)."""
    # YAML timestamps load as datetimes; kubectl sends them as strings.
    return len(json.dumps(obj, separators=(",", ":"), default=str).encode())


def too_big_for_client_side(text: str) -> list[str]:
    """`Kind/name` of each object of a manifest that client-side apply cannot apply."""
    return [
        document_name(obj)
        for obj in parse_objects(text)
        if object_bytes(obj) > CLIENT_SIDE_APPLY_MAX_BYTES
    ]


def _check_object(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ValueError("must contain only Kubernetes objects (mappings)")
    api_version = document.get("apiVersion")
    kind = document.get("kind")
    metadata = document.get("metadata")
    if not isinstance(api_version, str) or not re.fullmatch(
        r"[a-z0-9.-]+(/[a-z0-9]+)?", api_version
    ):
        raise ValueError("has an object without a valid 'apiVersion'")
    if not isinstance(kind, str) or not re.fullmatch(r"[A-Z][A-Za-z0-9]*", kind):
        raise ValueError("has an object without a valid 'kind'")
    if not isinstance(metadata, dict):
        raise ValueError(f"has a {kind} without 'metadata'")
    name = metadata.get("name")
    if not isinstance(name, str) or not _valid_name(api_version, kind, name):
        raise ValueError(f"has a {kind} without a valid 'metadata.name'")
    namespace = metadata.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str)
        or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", namespace)
    ):
        raise ValueError(f"has a {kind} {name!r} with an invalid 'metadata.namespace'")
    return document


def _valid_name(api_version: str, kind: str, name: str) -> bool:
    """Whether `name` fits the kind's grammar: RBAC objects have path segment names
    (`system:aggregate-to-view`), every other kind a DNS-1123 subdomain."""
    rbac = RBAC_API_VERSION.fullmatch(api_version) is not None
    try:
        validate.check_object_name(kind.lower() if rbac else "object", name)
    except ValueError:
        return False
    return True


def check_manifest(text: str) -> str:
    """Pydantic validator: the manifest parses into Kubernetes objects; returned unchanged."""
    parse_objects(text)
    return text


def workloads(text: str) -> list[tuple[str, str | None]]:
    """`(kind/name, namespace)` of each Deployment, StatefulSet and DaemonSet in a manifest."""
    found: list[tuple[str, str | None]] = []
    for obj in parse_objects(text):
        if obj["kind"] in WORKLOAD_KINDS:
            namespace = obj["metadata"].get("namespace")
            found.append((f"{obj['kind'].lower()}/{obj['metadata']['name']}", namespace))
    return found


def check_patch_body(text: str) -> str:
    """Pydantic validator: a patch is a JSON (or YAML) object, or a JSON Patch list."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    if len(text.encode("utf-8")) > MAX_OBJECT_BYTES:
        raise ValueError(f"must be at most {MAX_OBJECT_BYTES} bytes")
    try:
        body = json.loads(text)
    except ValueError:
        try:
            body = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError("must be a JSON or YAML object") from e
    if isinstance(body, dict) and body:
        return text
    if isinstance(body, list) and body and all(isinstance(op, dict) and "op" in op for op in body):
        return text
    raise ValueError("must be a non-empty object, or a JSON Patch list of operations")
