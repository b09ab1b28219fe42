"""Server-side apply (`application/apply-patch+yaml`) with per-manager field ownership.

Called by `api` for apply patches (kubectl `--server-side`, helm v4). Each field manager's
applied fields are kept in `metadata.managedFields[].fieldsV1` in the real FieldsV1 shape
(`f:<field>`, `k:{"name":...}` for keyed list items); applying again merges the new
configuration and removes what the same manager applied before but no longer sets.
Conflicts between managers are not detected (the sandbox has one writer at a time).
"""

from __future__ import annotations

import json
from typing import Any

from opsgate.sandbox.apiserver.patch import merge_key, strategic_merge
from opsgate.sandbox.apiserver.store import Obj, now_iso

Fields = dict[str, Any]


def fields_of(config: Any, name: str = "", parent: str = "") -> Fields:
    """The FieldsV1 set of an applied configuration (`name` holds it, `parent` holds `name`)."""
    if isinstance(config, dict):
        return {f"f:{key}": fields_of(value, key, name) for key, value in config.items()}
    key = merge_key(name, parent)
    if isinstance(config, list) and key and all(isinstance(i, dict) and key in i for i in config):
        return {
            "k:" + json.dumps({key: item[key]}, separators=(",", ":")): fields_of(item, name)
            for item in config
        }
    return {}


def _matches(item: Any, entry: str) -> bool:
    wanted = json.loads(entry[2:])
    return isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items())


def _child(node: Any, entry: str) -> Any:
    if entry.startswith("f:") and isinstance(node, dict):
        return node.get(entry[2:])
    if entry.startswith("k:") and isinstance(node, list):
        return next((item for item in node if _matches(item, entry)), None)
    return None


def _remove(node: Any, entry: str) -> None:
    if entry.startswith("f:") and isinstance(node, dict):
        node.pop(entry[2:], None)
    elif entry.startswith("k:") and isinstance(node, list):
        node[:] = [item for item in node if not _matches(item, entry)]


def prune(node: Any, old: Fields, new: Fields) -> None:
    """Remove from `node` what `old` owned and `new` no longer sets (in place)."""
    for entry, children in old.items():
        if entry not in new:
            _remove(node, entry)
        elif children:
            child = _child(node, entry)
            if child is not None:
                prune(child, children, new[entry])


def _manager_fields(obj: Obj, manager: str) -> Fields:
    for entry in obj.get("metadata", {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply":
            return dict(entry.get("fieldsV1") or {})
    return {}


def record(obj: Obj, manager: str, fields: Fields) -> None:
    """Set `manager`'s Apply entry in managedFields."""
    entry = {
        "manager": manager,
        "operation": "Apply",
        "apiVersion": obj.get("apiVersion", ""),
        "time": now_iso(),
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    meta = obj.setdefault("metadata", {})
    others = [m for m in meta.get("managedFields") or [] if m.get("manager") != manager]
    meta["managedFields"] = [*others, entry]


def server_side_apply(current: Obj | None, config: Obj, manager: str) -> Obj:
    """The object after `manager` applies `config` (to `current`, or as a new object)."""
    manager = manager or "unknown"
    new_fields = fields_of({k: v for k, v in config.items() if k != "status"})
    if current is None:
        result = dict(config)
    else:
        old_fields = _manager_fields(current, manager)
        result = strategic_merge(current, config)
        prune(result, old_fields, new_fields)
    record(result, manager, new_fields)
    return result
