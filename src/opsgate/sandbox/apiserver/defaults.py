"""Defaulting applied when objects are created or replaced, as the real API server does.

Called by `cluster` before storing a new or replaced object; each kind's defaults are its data
in `kinds`.
"""

from __future__ import annotations

from opsgate.sandbox.apiserver.resources import Resource
from opsgate.sandbox.apiserver.store import Obj
from opsgate.sandbox.kinds import registry


def apply_defaults(res: Resource, obj: Obj) -> Obj:
    """Fill in the defaults of `res`'s kind in place (and return the object)."""
    obj.setdefault("metadata", {})
    kind = registry.kind_of(res)
    if kind is not None and kind.defaults is not None:
        kind.defaults(obj)
    return obj
