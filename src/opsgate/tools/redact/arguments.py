"""Redaction of what is asked of a tool: proposed arguments, argv, and JSONPath answers.

`redact_args` is for the engine: every call's arguments pass through it before they are shown
or stored (approvals, stream, audit, call records), never before they are handed to the tool.
`mask_argv` is for the runner (the argv recorded with each command). `redact_jsonpath_output`
is for `k8s_get`, whose JSONPath answers print bare values with no key beside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from opsgate.tools.redact import documents, keys, patterns
from opsgate.tools.redact.masks import REDACTED, Mask, apply, hide, marker

_SECRET_FLAGS = frozenset({"--token", "--password", "--client-key", "--username-password"})
_SET_FLAGS = frozenset({"--set", "--set-string", "--set-literal"})
_SECRET_RESOURCE = re.compile(r"(?i)secrets?(\.v1)?(\.core)?(/.*)?")
_ENV_VALUE_POINTER = re.compile(r"/env/[0-9]+/value$")


def redact_args(tool: str, args: Mapping[str, Any], mask: Mask = marker) -> dict[str, Any]:
    """A copy of `args` with every secret value replaced by `mask(value)` (`marker` by default;
    the engine passes `keyed_marker`).

    Covers manifests (a Secret's `data`/`stringData`, ConfigMap keys and env values that name
    secrets; YAML or JSON, several documents; the result still parses and keeps every key),
    `k8s_patch` patches (a Secret's data when the patched object is a Secret), Helm `set`
    pairs and values, Jenkins build parameters, and any string matching a token format.
    Everything else comes back equal and of the same type. Deterministic.
    """
    redacted: dict[str, Any] = documents.redact_value(dict(args), mask)
    patch = args.get("patch")
    if tool == "k8s_patch" and isinstance(patch, str):
        redacted["patch"] = redact_patch(
            patch, mask, targets_secret=_is_secret_resource(args.get("resource"))
        )
    return redacted


def redact_patch(text: str, mask: Mask, *, targets_secret: bool) -> str:
    """A patch (JSON or YAML; merge patch or JSON Patch list) with its secrets masked.

    A patch carries no `kind`, so `targets_secret` says whether its `data`/`stringData` are a
    Secret's.
    """
    try:
        body = json.loads(text)
        notation = "json"
    except ValueError:
        try:
            body = yaml.safe_load(text)
        except yaml.YAMLError:
            return documents.redact_text(text, mask=mask)
        notation = "yaml"
    redacted = _patch_body(body, mask, targets_secret=targets_secret)
    if redacted == body:
        return text
    if notation == "yaml":
        return yaml.safe_dump(redacted, sort_keys=False)
    if "\n" in text.strip():
        return json.dumps(redacted, indent=2, ensure_ascii=False)
    return json.dumps(redacted, separators=(",", ":"), ensure_ascii=False)


def _patch_body(body: Any, mask: Mask, *, targets_secret: bool) -> Any:
    if isinstance(body, list):
        return [_patch_operation(item, mask, targets_secret=targets_secret) for item in body]
    if isinstance(body, dict) and targets_secret and "kind" not in body:
        as_secret = documents.redact_value({**body, "kind": "Secret"}, mask)
        del as_secret["kind"]
        return as_secret
    return documents.redact_value(body, mask)


def _patch_operation(operation: Any, mask: Mask, *, targets_secret: bool) -> Any:
    """One JSON Patch operation: `{"op": "add", "path": "/data/password", "value": ...}`."""
    if not isinstance(operation, dict) or not isinstance(operation.get("path"), str):
        return documents.redact_value(operation, mask)
    path: str = operation["path"]
    value = operation.get("value")
    last = path.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
    under_data = path.startswith(("/data", "/stringData"))
    if targets_secret and under_data and isinstance(value, dict | list | str | int | float):
        hidden = documents.redact_value({"kind": "Secret", "data": {last: value}}, mask)
        return {**operation, "value": hidden["data"][last]}
    # A value set by index in an env list: which variable it is cannot be read from the path.
    by_pointer = keys.is_secret_key(last) or _ENV_VALUE_POINTER.search(path) is not None
    if by_pointer and isinstance(value, str | int | float) and not keys.shown_scalar(value, last):
        return {**operation, "value": apply(mask, str(value))}
    return documents.redact_value(operation, mask)


def _is_secret_resource(resource: object) -> bool:
    return isinstance(resource, str) and bool(_SECRET_RESOURCE.fullmatch(resource))


def mask_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """The argv for display and audit: values of secret flags and `--set k=v` secrets masked."""
    targets_secret = any(_is_secret_resource(argument) for argument in argv)
    masked: list[str] = []
    previous = ""
    for argument in argv:
        if previous in _SECRET_FLAGS:
            masked.append(REDACTED)
        elif previous in _SET_FLAGS:
            masked.append(_mask_assignments(argument))
        elif argument.startswith("--patch="):
            body = argument.removeprefix("--patch=")
            masked.append("--patch=" + redact_patch(body, hide, targets_secret=targets_secret))
        elif "=" in argument and argument.split("=", 1)[0] in _SECRET_FLAGS:
            masked.append(f"{argument.split('=', 1)[0]}={REDACTED}")
        else:
            masked.append(patterns.redact_patterns(argument, hide))
        previous = argument
    return tuple(masked)


def _mask_assignments(argument: str) -> str:
    pairs = []
    for pair in argument.split(","):
        key, sep, value = pair.partition("=")
        name = key.split(".")[-1]
        hidden = sep and keys.is_secret_key(name) and not keys.shown_text(value, name)
        pairs.append(f"{key}={REDACTED}" if hidden else pair)
    return ",".join(pairs)


_JSONPATH_NAME = re.compile(r"[A-Za-z0-9_-]+")
_METADATA_FIELDS = frozenset({"items", "metadata", "name", "namespace"})


def redact_jsonpath_output(text: str, *, resource: str, jsonpath: str) -> str:
    """A JSONPath answer prints bare values; mask it all when what it reads may be secret.

    That is: anything of a Secret but its metadata; any field or name literal that names a
    secret (`{.data.DB_PASSWORD}`, `env[?(@.name=="API_TOKEN")].value`); env values and
    ConfigMap data read by wildcard, whose names are not printed beside them.
    """
    names = _JSONPATH_NAME.findall(jsonpath.replace("\\.", "."))
    if _is_secret_resource(resource):
        reads_only_metadata = all(name in _METADATA_FIELDS for name in names)
        return text if reads_only_metadata else REDACTED
    if any(keys.is_secret_key(name) for name in names):
        return REDACTED
    reads_env_values = "env" in names and "value" in names
    reads_all_data = re.search(r"\.(data|stringData)(\.\*|\[\*\])", jsonpath) is not None
    return REDACTED if reads_env_values or reads_all_data else text
