"""Parsing manifests and patches before they reach kubectl.

Used by the kubectl parameter models (`k8s_apply`, `k8s_diff`, `k8s_patch`) to refuse anything
that is not Kubernetes objects, and by the apply verify recipe to find the workloads to watch.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from opsgate.tools import validate

MAX_MANIFEST_BYTES = 512 * 1024
MAX_OBJECTS = 100
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
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
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
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
    return objects


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
    if len(text) > MAX_MANIFEST_BYTES:
        raise ValueError(f"must be at most {MAX_MANIFEST_BYTES} bytes")
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
