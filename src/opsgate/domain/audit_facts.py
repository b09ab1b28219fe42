"""What an audit row says at a glance: its tool, target object, namespace, context and outcome.

Read from the event's kind and stored payload alone, so it works for events of every version
and for an exported file. The audit route (`api.routes.audit`) adds these to each row and
filters by object and outcome with them; `opsgate audit tail` prints them as columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

from opsgate.domain.targets import call_object

Outcome = Literal[
    "requested",
    "approved",
    "counted",
    "rejected",
    "expired",
    "refused",
    "succeeded",
    "failed",
    "unknown",
    "verified",
    "not_verified",
    "completed",
    "completed_with_failures",
    "stopped",
]
"""An event's outcome: an approval's decision, a call's result, a check's verdict, a run's end;
`counted` is an approval a policy's quorum counted without settling the call yet."""

_FIXED: dict[str, Outcome] = {
    "approval.requested": "requested",
    "approval.rejected": "rejected",
    "approval.expired": "expired",
    "approval.refused": "refused",
    "user.sso_refused": "refused",
    "tool.outcome_unknown": "unknown",
}
_OUTCOMES: dict[str, Outcome] = {outcome: outcome for outcome in get_args(Outcome)}


class AuditFacts(BaseModel):
    """The columns the audit view and `audit tail` show beside an event's kind and actor."""

    model_config = ConfigDict(frozen=True)

    tool: str | None = None
    object: str | None = None
    """The target (`deployment/web`); for an approval request, of its calls, comma-joined."""
    namespace: str | None = None
    context: str | None = None
    outcome: Outcome | None = None


def facts(kind: str, payload: Mapping[str, Any]) -> AuditFacts:
    """The facts of one event (None where the event does not say)."""
    calls = payload.get("calls") if kind == "approval.requested" else None
    if isinstance(calls, list):
        return _request_facts([c for c in calls if isinstance(c, Mapping)])
    tool = _text(payload.get("tool"))
    args = payload.get("args")
    args = args if isinstance(args, Mapping) else {}
    target = _text(payload.get("object"))
    if target is None and tool is not None:
        target = call_object(tool, args)
    return AuditFacts(
        tool=tool,
        object=target,
        namespace=_text(payload.get("namespace")) or _text(args.get("namespace")),
        context=_text(payload.get("context")),
        outcome=_outcome(kind, payload),
    )


def _request_facts(calls: list[Mapping[str, Any]]) -> AuditFacts:
    def joined(values: list[str | None]) -> str | None:
        unique = list(dict.fromkeys(v for v in values if v is not None))
        return ", ".join(unique) or None

    each = [facts("tool.started", call) for call in calls]
    return AuditFacts(
        tool=joined([f.tool for f in each]),
        object=joined([f.object for f in each]),
        namespace=joined([f.namespace for f in each]),
        context=joined([f.context for f in each]),
        outcome="requested",
    )


def _outcome(kind: str, payload: Mapping[str, Any]) -> Outcome | None:
    if kind in _FIXED:
        return _FIXED[kind]
    if kind == "approval.granted":
        return "counted" if payload.get("settled") is False else "approved"
    if kind == "tool.finished" and payload.get("refused") is True:
        return "refused"
    value = {"tool.finished": "status", "verify": "verdict", "run.finished": "status"}.get(kind)
    found = payload.get(value) if value else None
    return _OUTCOMES.get(found) if isinstance(found, str) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
