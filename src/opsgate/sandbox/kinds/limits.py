"""The core group's namespace limits (`/api/v1`): ResourceQuotas and LimitRanges.

Spliced into `kinds.core.KINDS` at their place in the API server's discovery order.
"""

from __future__ import annotations

from typing import Any

from opsgate.sandbox.apiserver.resources import Resource as _R
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds.base import Kind, age, created_at, spec, status

_S = "string"


def _quota_row(quota: Obj) -> list[Any]:
    hard = status(quota).get("hard") or spec(quota).get("hard") or {}
    used = status(quota).get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for name in sorted(hard):
        cell = f"{name}: {used.get(name, '0')}/{hard[name]}"
        (limits if name.startswith("limits.") else requests).append(cell)
    return [age(quota), ", ".join(requests), ", ".join(limits)]


def _quota_defaults(obj: Obj) -> None:
    obj.setdefault("spec", {}).setdefault("hard", {})


def _limitrange_defaults(obj: Obj) -> None:
    for item in spec(obj).get("limits") or []:
        if item.get("type") == "Container":
            # As the API server: a max without a default makes the max the default limit.
            defaults = item.setdefault("default", {})
            for name, value in (item.get("max") or {}).items():
                defaults.setdefault(name, value)
            requests = item.setdefault("defaultRequest", {})
            for name, value in defaults.items():
                requests.setdefault(name, value)
            if not item["default"]:
                item.pop("default")
            if not item["defaultRequest"]:
                item.pop("defaultRequest")


QUOTAS = Kind(
    "ResourceQuota",
    (
        _R(
            "",
            "v1",
            "ResourceQuota",
            "resourcequotas",
            True,
            ("quota",),
            subresources=("status",),
        ),
    ),
    (("Age", _S, 0), ("Request", _S, 0), ("Limit", _S, 0)),
    _quota_row,
    _quota_defaults,
)
LIMIT_RANGES = Kind(
    "LimitRange",
    (_R("", "v1", "LimitRange", "limitranges", True, ("limits",)),),
    (("Created At", "date", 0),),
    lambda o: [created_at(o)],
    _limitrange_defaults,
)
