"""Validation of objects on create and update: metadata, then each kind's own rules.

Called by `cluster` after defaulting; a failure is the 422 `Invalid` answer with the field
errors kubectl prints (`The Deployment "web" is invalid: spec.template.metadata.labels: ...`).
Custom resources are checked against their CRD's schema by `crds` instead.
"""

from __future__ import annotations

import re

from opsgate.sandbox.apiserver.errors import invalid as invalid_error
from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds import registry
from opsgate.sandbox.kinds.base import (
    LABEL_MESSAGE,
    SUBDOMAIN_MESSAGE,
    Cause,
    invalid,
    is_label,
    is_subdomain,
)

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_KEY_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def _name_causes(name: str, rule: str) -> list[Cause]:
    if rule == "any":
        return []
    if rule == "rbac":
        bad = "/" in name or "%" in name or name in (".", "..")
        return [invalid("metadata.name", name, 'may not contain "/"')] if bad else []
    if rule == "label" and not is_label(name):
        return [invalid("metadata.name", name, LABEL_MESSAGE)]
    if rule in ("subdomain", "path") and not is_subdomain(name):
        return [invalid("metadata.name", name, SUBDOMAIN_MESSAGE)]
    return []


def metadata_causes(obj: Obj, rule: str) -> list[Cause]:
    """Errors in an object's name and labels."""
    meta = obj.get("metadata") or {}
    causes = _name_causes(str(meta.get("name", "")), rule)
    for key, value in (meta.get("labels") or {}).items():
        name = str(key).rsplit("/", 1)[-1]
        if not _QUALIFIED.match(name) or len(name) > 63:
            causes.append(invalid("metadata.labels", key, _KEY_MESSAGE))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(invalid("metadata.labels", value, _LABEL_VALUE_MESSAGE))
    return causes


def validate(res: Resource, obj: Obj, old: Obj | None) -> None:
    """Refuse `obj` (422) when a built-in kind's rules fail; `old` is the stored object."""
    kind = registry.kind_of(res)
    rule = kind.name_rule if kind is not None else "subdomain"
    causes = metadata_causes(obj, rule)
    if kind is not None and kind.validate is not None:
        causes += kind.validate(obj, old)
    if causes:
        raise invalid_error(res.group, res.kind, str(obj["metadata"].get("name", "")), causes)
