"""The object a call acts on, as one short string (`deployment/web`, `release/shop`).

The engine writes it into approval audit events (`domain.audit_payloads.RequestedCall` and the
decisions) so that "who approved the delete of deployment/web" is one filter; the audit view
shows it as the row's target. Worked out from the call's validated arguments alone, by the
names the tool families give their target (kubectl `resource`/`name`, `pod`, Helm `release`,
Argo Rollouts `name`, Jenkins `job`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def call_object(tool: str, args: Mapping[str, Any]) -> str | None:
    """The target of `tool` called with `args`, or None when the call names no one object."""
    resource, name = _text(args.get("resource")), _text(args.get("name"))
    if resource is not None:
        return f"{resource}/{name}" if name is not None and "/" not in resource else resource
    for key, kind in (("pod", "pod"), ("release", "release"), ("job", "job")):
        value = _text(args.get(key))
        if value is not None:
            return value if "/" in value and kind == "pod" else f"{kind}/{value}"
    if name is not None and tool.startswith("argo_"):
        return f"rollout/{name}"
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
