"""How the approval policy takes part in `Engine.decide`: judge one decision against the
requirement stored with its item, and what that adds to the decision's records.

Called only by `Engine.decide`, after the built-in checks (role, distinct approver, reasons).
An item without a requirement (the built-in gate) is settled by its one decision, exactly as
before policies existed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from opsgate.domain import audit_payloads as audit
from opsgate.domain import policy
from opsgate.engine.recorder import audit_record
from opsgate.errors import DecisionRefused
from opsgate.store.records import ApprovalItem, ApprovalRequest, NewAuditEvent, User

_log = logging.getLogger(__name__)

BUILT_IN = policy.Judgement(rule_ids=(), final=True)


def judge(
    request: ApprovalRequest,
    item: ApprovalItem,
    user: User,
    *,
    approve: bool,
    reason: str | None,
    now: datetime,
) -> policy.Judgement:
    """What the item's stored requirement says of this decision (the policy in force when the
    request opened, never a later one). Raises `DecisionRefused` with the rule's message."""
    if item.requirement is None:
        return BUILT_IN
    decider = policy.Decider(user.id, user.username, user.role, user.groups)
    try:
        return policy.judge(
            item.requirement,
            item.votes(),
            decider,
            approve=approve,
            reason=reason,
            requester_id=request.proposed_by,
            now=now,
        )
    except policy.PolicyRefusal as e:
        raise DecisionRefused(str(e)) from e


def decision_fields(item: ApprovalItem, judgement: policy.Judgement) -> dict[str, Any]:
    """The decision's policy fields for its audit event; none under the built-in gate."""
    if item.requirement is None:
        return {}
    return {
        "rule_ids": list(judgement.rule_ids),
        "settled": judgement.final,
        "break_glass": list(judgement.break_glass) or None,
    }


def break_glass_events(
    request: ApprovalRequest,
    call_id: str,
    user: User,
    judgement: policy.Judgement,
    reason: str | None,
) -> list[NewAuditEvent]:
    """An `approval.break_glass` event (and a warning) for an approval given in a freeze:
    its own event, so the log shows it at a glance; none otherwise."""
    if not judgement.break_glass:
        return []
    rules = ", ".join(judgement.break_glass)
    _log.warning("break-glass approval by %s of call %s (rules %s)", user.username, call_id, rules)
    payload = audit.ApprovalBreakGlass(
        approval_id=request.id,
        call_id=call_id,
        rule_ids=list(judgement.break_glass),
        reason=reason or "",
    )
    return [
        audit_record(
            payload,
            conversation_id=request.conversation_id,
            run_id=request.run_id,
            call_id=call_id,
            actor_id=user.id,
            actor_name=user.username,
        )
    ]


def progress(request: ApprovalRequest, call_id: str) -> list[str]:
    """The policy's progress lines of one call; empty under the built-in gate."""
    item = next(i for i in request.items if i.call_id == call_id)
    if item.requirement is None:
        return []
    return policy.progress(item.requirement, item.votes())
