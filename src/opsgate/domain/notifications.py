"""What an outgoing notification says: the audit events webhooks are told about, as payloads.

The webhook outbox (`api.notify.outbox`) reads the append-only audit log after each webhook's
cursor and asks `notification(event, link_base)` what, if anything, that event means to a
receiver. Payloads are built from the audit payloads (which hold only redacted arguments) and
carry ids, tool, object, context, namespace and outcome, never arguments, output, reasons or
previews: a receiver is told that something happened and where to look, not the data.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from opsgate.domain.audit import AuditEvent
from opsgate.domain.targets import call_object

WebhookEvent = Literal[
    "approval.requested",
    "approval.decided",
    "approval.expired",
    "run.finished",
    "run.failed",
    "verification.failed",
]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = get_args(WebhookEvent)

_FAILED_RUNS = frozenset({"failed", "completed_with_failures"})
"""Run statuses told as `run.failed`; every other final status is `run.finished`."""


def _event_name(event: AuditEvent) -> WebhookEvent | None:
    payload = event.payload
    if event.kind == "approval.requested":
        return "approval.requested"
    if event.kind in ("approval.granted", "approval.rejected"):
        return "approval.decided"
    if event.kind == "approval.expired":
        return "approval.expired"
    if event.kind == "run.finished":
        return "run.failed" if payload.get("status") in _FAILED_RUNS else "run.finished"
    if event.kind == "verify" and payload.get("verdict") == "failed":
        return "verification.failed"
    return None


def _namespace(args: dict[str, Any]) -> str | None:
    namespace = args.get("namespace")
    return namespace if isinstance(namespace, str) else None


def _details(event: AuditEvent) -> dict[str, Any]:
    payload = event.payload
    if event.kind == "approval.requested":
        return {
            "approval_id": payload["approval_id"],
            "expires_at": payload.get("expires_at"),
            "calls": [
                {
                    "call_id": call["call_id"],
                    "tool": call["tool"],
                    "object": call.get("object") or call_object(call["tool"], call["args"]),
                    "context": call.get("context"),
                    "namespace": _namespace(call["args"]),
                    "destructive": call.get("destructive", False),
                }
                for call in payload["calls"]
            ],
        }
    if event.kind in ("approval.granted", "approval.rejected"):
        return {
            "approval_id": payload["approval_id"],
            "call_id": event.call_id,
            "tool": payload.get("tool"),
            "object": payload.get("object"),
            "context": payload.get("context"),
            "namespace": payload.get("namespace"),
            "outcome": "approved" if event.kind == "approval.granted" else "rejected",
            "decided_by": event.actor_name,
            "settled": payload.get("settled", True),
        }
    if event.kind == "approval.expired":
        return {
            "approval_id": payload["approval_id"],
            "call_ids": payload.get("call_ids"),
            "outcome": "expired",
        }
    if event.kind == "run.finished":
        return {"outcome": payload["status"]}
    return {"call_id": event.call_id, "tool": payload.get("tool"), "outcome": payload["verdict"]}


def notification(event: AuditEvent, link_base: str) -> tuple[WebhookEvent, dict[str, Any]] | None:
    """The webhook event `event` is and the JSON body told for it, or None when it is none.

    `link_base` is the Command Center's public address (`OPSGATE_PUBLIC_URL`, else the
    listening address); the body links to the event's conversation there.
    """
    name = _event_name(event)
    if name is None:
        return None
    link = None
    if event.conversation_id is not None:
        link = f"{link_base.rstrip('/')}/#/c/{event.conversation_id}"
    body: dict[str, Any] = {
        "event": name,
        "audit_seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor_name,
        "conversation_id": event.conversation_id,
        "run_id": event.run_id,
        "link": link,
        **_details(event),
    }
    return name, body
