"""The shape of a kind's data, and the helpers its modules share.

Each module of `kinds` (one per API group) lists its `Kind`s: the resources served (every
version, the storage version first), the server-side table columns `kubectl get` prints, the
defaults the API server fills in, and the validation that answers 422 with the real messages.
`registry` gathers them for the catalog (`apiserver.resources`), `http.tables`,
`apiserver.defaults` and `apiserver.validation`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj, parse_time

Column = tuple[str, str, int]
"""(name, type, priority); priority 1 columns appear only with `-o wide`."""
Row = Callable[[Obj], list[Any]]
Defaulter = Callable[[Obj], None]
NameRule = Literal["subdomain", "label", "path", "rbac", "any"]


@dataclass(frozen=True)
class Cause:
    """One field error of a 422 answer, as `metav1.StatusCause`."""

    field: str
    reason: Literal[
        "FieldValueRequired",
        "FieldValueInvalid",
        "FieldValueNotSupported",
        "FieldValueForbidden",
        "FieldValueNotFound",
        "FieldValueDuplicate",
        "FieldValueTooLong",
    ]
    message: str


Validator = Callable[[Obj, Obj | None], list[Cause]]
"""(new object, stored object or None on create) -> field errors."""


@dataclass(frozen=True)
class Kind:
    """One kind: where it is served and how its objects are printed, defaulted and checked."""

    name: str
    resources: tuple[Resource, ...]
    columns: tuple[Column, ...] = ()
    row: Row | None = None
    defaults: Defaulter | None = None
    validate: Validator | None = None
    name_rule: NameRule = "subdomain"
    convert: Callable[[Obj, str], Obj] | None = None
    """Object -> the same object in another apiVersion (kinds served in several versions)."""
    name_suffix: Callable[[Obj], str] | None = None
    """Added to the NAME cell (a default StorageClass prints `standard (default)`)."""
    extra: dict[str, Any] = field(default_factory=dict)


def human_age(timestamp: str | None) -> str:
    """A duration like kubectl prints it: 45s, 12m, 5h, 3d."""
    if not timestamp:
        return "<unknown>"
    seconds = int((datetime.now(UTC) - parse_time(timestamp)).total_seconds())
    return duration(max(seconds, 0))


def duration(seconds: int) -> str:
    """kubectl's short duration (`HumanDuration`)."""
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def age(obj: Obj) -> str:
    return human_age(obj["metadata"].get("creationTimestamp"))


def created_at(obj: Obj) -> str:
    """The CREATED AT cell (RBAC kinds, LimitRange, CRDs): the timestamp itself."""
    return str(obj["metadata"].get("creationTimestamp", ""))


def labels_text(labels: dict[str, Any] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (labels or {}).items())


def selector_text(selector: dict[str, Any] | None) -> str:
    """A LabelSelector as `metav1.FormatLabelSelector` prints it."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), expr.get("values") or []
        if op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(str(key))
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts) or "<none>"


def spec(obj: Obj) -> Obj:
    found = obj.get("spec")
    return found if isinstance(found, dict) else {}


def status(obj: Obj) -> Obj:
    found = obj.get("status")
    return found if isinstance(found, dict) else {}


_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def is_subdomain(value: str) -> bool:
    return len(value) <= 253 and bool(_SUBDOMAIN.match(value))


def is_label(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL.match(value))


def go_quote(value: Any) -> str:
    """A value as Go's `%q` prints it in field errors."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def go_map(labels: dict[str, Any] | None) -> str:
    """A `map[string]string` as Go's `%#v` prints it (sorted keys)."""
    inner = ", ".join(f"{go_quote(k)}:{go_quote(v)}" for k, v in sorted((labels or {}).items()))
    return f"map[string]string{{{inner}}}"


def required(path: str, detail: str = "") -> Cause:
    return Cause(path, "FieldValueRequired", f"Required value{': ' + detail if detail else ''}")


def invalid(path: str, value: Any, detail: str) -> Cause:
    """`Invalid value: <value as Go prints it>: <detail>`."""
    return invalid_text(path, _go_value(value), detail)


def invalid_text(path: str, shown: str, detail: str) -> Cause:
    """An invalid value already spelled as Go prints it (`map[string]string{...}`)."""
    return Cause(path, "FieldValueInvalid", f"Invalid value: {shown}: {detail}")


def _go_value(value: Any) -> str:
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unsupported(path: str, value: Any, supported: list[str]) -> Cause:
    options = ", ".join(go_quote(s) for s in supported)
    return Cause(
        path,
        "FieldValueNotSupported",
        f"Unsupported value: {_go_value(value)}: supported values: {options}",
    )


def forbidden(path: str, detail: str) -> Cause:
    return Cause(path, "FieldValueForbidden", f"Forbidden: {detail}")


def not_found(path: str, value: Any) -> Cause:
    return Cause(path, "FieldValueNotFound", f"Not found: {_go_value(value)}")


def duplicate(path: str, value: Any) -> Cause:
    return Cause(path, "FieldValueDuplicate", f"Duplicate value: {_go_value(value)}")


def immutable(path: str, value: Any) -> Cause:
    return invalid(path, value, "field is immutable")
