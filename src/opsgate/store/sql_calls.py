"""Tool calls and approval requests on SQL: the part of `SqlStore` the approval gate relies on.

`SqlStore` inherits these methods. Every state change is a conditional UPDATE inside a write
transaction (`WHERE status = ...`), so two racing approvers or executors get one success and
one `Conflict`, whichever process they run in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, exists, insert, select, update

from opsgate.domain.calls import CallStatus, output_digest
from opsgate.domain.policy import Requirement
from opsgate.domain.runs import ApprovalStatus, DecisionKind, DecisionVia
from opsgate.errors import Conflict, NotFound
from opsgate.store import tables
from opsgate.store.protocol import NewApprovalItem
from opsgate.store.records import (
    ApprovalDecision,
    ApprovalItem,
    ApprovalRequest,
    CallChange,
    NewAuditEvent,
    NewCall,
    ToolCallRecord,
)
from opsgate.store.sql_base import SqlBase

TC, A, AI, R = tables.tool_calls, tables.approvals, tables.approval_items, tables.runs
AD = tables.approval_decisions

FINAL_CALL_STATUSES: frozenset[CallStatus] = frozenset(
    {"invalid", "rejected", "expired", "succeeded", "failed", "outcome_unknown", "refused"}
)
"""Statuses that end a call's run: they stamp `finished_at` and store its output. A verdict
(`verified`, `verification_failed`, `not_verified`) follows `succeeded` and changes only the
status."""
_OPENABLE: tuple[CallStatus, ...] = ("planned", "awaiting_approval")
# Built once for the per-step hot path: values come as execute() parameters (an UPDATE sets
# the columns named by them), so no statement is constructed again for every call.
_RUN_CONVERSATION = select(R.c.conversation_id).where(R.c.id == bindparam("b_run_id"))
_INSERT_CALL = insert(TC)
_SET_CALL = update(TC).where(TC.c.id == bindparam("b_id"))
_SET_EXPECTED_CALL = _SET_CALL.where(TC.c.status.in_(bindparam("b_expected", expanding=True)))


class CallsStore(SqlBase):
    """Calls and approvals; see `opsgate.store.protocol.Store` for the contract."""

    # --- tool calls --------------------------------------------------------------------

    def _insert_calls(self, conn: Connection, calls: Sequence[NewCall]) -> None:
        now = self._now()
        conversations: dict[str, str] = {}
        rows = []
        for new in calls:
            if new.run_id not in conversations:
                found = conn.execute(_RUN_CONVERSATION, {"b_run_id": new.run_id}).scalar()
                if found is None:
                    raise NotFound(f"no run {new.run_id!r}")
                conversations[new.run_id] = found
            rows.append(
                {
                    "id": new.call_id,
                    "run_id": new.run_id,
                    "conversation_id": conversations[new.run_id],
                    "tool": new.tool,
                    "args": new.args,
                    "context": new.context,
                    "classification": new.classification,
                    "destructive": new.destructive,
                    "call_hash": new.call_hash,
                    "cluster": new.cluster,
                    "status": new.status,
                    "truncated": False,
                    "created_at": now,
                }
            )
        # A call id recorded twice breaks the primary key: `Conflict` from `_write`.
        conn.execute(_INSERT_CALL, rows)

    @staticmethod
    def _call(conn: Connection, call_id: str) -> ToolCallRecord:
        row = conn.execute(select(TC).where(TC.c.id == call_id)).first()
        if row is None:
            raise NotFound(f"no call {call_id!r}")
        return ToolCallRecord.model_validate(dict(row._mapping))

    async def get_call(self, call_id: str) -> ToolCallRecord:
        return await self._read(lambda conn: self._call(conn, call_id))

    async def list_calls(
        self, *, run_id: str | None = None, conversation_id: str | None = None
    ) -> list[ToolCallRecord]:
        stmt = select(TC).order_by(TC.c.created_at, TC.c.id)
        if run_id is not None:
            stmt = stmt.where(TC.c.run_id == run_id)
        if conversation_id is not None:
            stmt = stmt.where(TC.c.conversation_id == conversation_id)
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [ToolCallRecord.model_validate(dict(r._mapping)) for r in rows]

    async def set_call_status(
        self,
        call_id: str,
        status: CallStatus,
        *,
        expected: Sequence[CallStatus] | None = None,
        output: str | None = None,
        exit_code: int | None = None,
        truncated: bool = False,
        duration_ms: int | None = None,
        acting_as: str | None = None,
    ) -> ToolCallRecord:
        change = CallChange(
            call_id,
            status,
            None if expected is None else tuple(expected),
            output,
            exit_code,
            truncated,
            duration_ms,
            acting_as,
        )

        def work(conn: Connection) -> ToolCallRecord:
            self._change_call(conn, change)
            return self._call(conn, call_id)

        return await self._write(work)

    def _change_call(self, conn: Connection, change: CallChange) -> None:
        now = self._now()
        changes: dict[str, Any] = {"status": change.status}
        if change.status == "running":
            changes["started_at"] = now
            if change.acting_as is not None:
                changes["acting_as"] = change.acting_as
        if change.status in FINAL_CALL_STATUSES:
            changes["finished_at"] = now
            changes.update(
                exit_code=change.exit_code,
                truncated=change.truncated,
                duration_ms=change.duration_ms,
            )
            if change.output is not None:
                sha256, size = output_digest(change.output)
                changes.update(output=change.output, output_sha256=sha256, output_size=size)
        stmt, params = _SET_CALL, {**changes, "b_id": change.call_id}
        if change.expected is not None:
            stmt, params["b_expected"] = _SET_EXPECTED_CALL, list(change.expected)
        if conn.execute(stmt, params).rowcount == 1:
            return
        record = self._call(conn, change.call_id)
        raise Conflict(
            f"call {change.call_id!r} is {record.status!r}, "
            f"not one of {list(change.expected or [])!r}"
        )

    async def mark_interrupted_calls(self, run_ids: Sequence[str]) -> list[ToolCallRecord]:
        if not run_ids:
            return []

        def work(conn: Connection) -> list[ToolCallRecord]:
            running = select(TC.c.id).where(TC.c.status == "running", TC.c.run_id.in_(run_ids))
            rows = conn.execute(running).all()
            ids = [row.id for row in rows]
            if ids:
                conn.execute(
                    update(TC)
                    .where(TC.c.id.in_(ids), TC.c.status == "running")
                    .values(status="outcome_unknown", finished_at=self._now())
                )
            return [self._call(conn, call_id) for call_id in ids]

        return await self._write(work)

    # --- approvals ---------------------------------------------------------------------

    async def create_approval(
        self,
        *,
        run_id: str,
        proposed_by: str,
        expires_at: datetime,
        items: Sequence[NewApprovalItem],
        requirements: Mapping[str, Requirement] | None = None,
    ) -> ApprovalRequest:
        if not items:
            raise Conflict("an approval request needs at least one call")
        approval_id = self._ids.new("apr")

        def work(conn: Connection) -> ApprovalRequest:
            stmt = select(R.c.conversation_id).where(R.c.id == run_id)
            conversation_id = conn.execute(stmt).scalar_one_or_none()
            if conversation_id is None:
                raise NotFound(f"no run {run_id!r}")
            conn.execute(
                insert(A).values(
                    id=approval_id,
                    run_id=run_id,
                    conversation_id=conversation_id,
                    proposed_by=proposed_by,
                    created_at=self._now(),
                    expires_at=expires_at,
                )
            )
            for position, item in enumerate(items):
                call = self._call(conn, item.call_id)
                if call.run_id != run_id:
                    raise Conflict(f"call {item.call_id!r} belongs to another run")
                result = conn.execute(
                    update(TC)
                    .where(TC.c.id == item.call_id, TC.c.status.in_(_OPENABLE))
                    .values(status="awaiting_approval", approval_id=approval_id)
                )
                if result.rowcount == 0:
                    raise Conflict(f"call {item.call_id!r} is {call.status!r}; cannot approve it")
                conn.execute(
                    insert(AI).values(
                        approval_id=approval_id,
                        call_id=item.call_id,
                        position=position,
                        preview=item.preview,
                        preview_state=item.preview_state,
                        command=item.command,
                        status="pending",
                        expires_at=expires_at,
                        requirement=_requirement_json(requirements, item.call_id),
                    )
                )
            return self._approval(conn, approval_id)

        return await self._write(work)

    @staticmethod
    def _approval(conn: Connection, approval_id: str) -> ApprovalRequest:
        head = conn.execute(
            select(A, R.c.client_name, R.c.client_version)
            .join(R, R.c.id == A.c.run_id)
            .where(A.c.id == approval_id)
        ).first()
        if head is None:
            raise NotFound(f"no approval request {approval_id!r}")
        stmt = (
            select(
                AI,
                TC.c.tool,
                TC.c.args,
                TC.c.context,
                TC.c.destructive,
                TC.c.call_hash,
                TC.c.cluster,
                TC.c.status.label("call_status"),
            )
            .join(TC, TC.c.id == AI.c.call_id)
            .where(AI.c.approval_id == approval_id)
            .order_by(AI.c.position)
        )
        given: dict[str, list[ApprovalDecision]] = {}
        decisions = select(AD).where(AD.c.approval_id == approval_id).order_by(AD.c.id)
        for row in conn.execute(decisions).all():
            given.setdefault(row.call_id, []).append(_decision(row._mapping))
        items = [_item(row._mapping, given) for row in conn.execute(stmt).all()]
        return ApprovalRequest.model_validate({**head._mapping, "items": items})

    async def get_approval(self, approval_id: str) -> ApprovalRequest:
        return await self._read(lambda conn: self._approval(conn, approval_id))

    async def list_approvals(
        self,
        *,
        status: ApprovalStatus | None = None,
        conversation_id: str | None = None,
        limit: int = 100,
    ) -> list[ApprovalRequest]:
        stmt = select(A.c.id).order_by(A.c.created_at.desc(), A.c.id.desc()).limit(limit)
        if conversation_id is not None:
            stmt = stmt.where(A.c.conversation_id == conversation_id)
        if status is not None:
            stmt = stmt.where(*_status_conditions(status))

        def work(conn: Connection) -> list[ApprovalRequest]:
            ids = [row.id for row in conn.execute(stmt).all()]
            return [self._approval(conn, approval_id) for approval_id in ids]

        return await self._read(work)

    async def decide(
        self,
        approval_id: str,
        call_id: str,
        decision: DecisionKind,
        *,
        user_id: str,
        user_name: str,
        reason: str | None,
        now: datetime,
        audit: NewAuditEvent | None = None,
        via: DecisionVia | None = None,
        rule_ids: Sequence[str] = (),
        final: bool = True,
        seen_decisions: int | None = None,
        also_audit: Sequence[NewAuditEvent] = (),
    ) -> ApprovalRequest:
        item_status: ApprovalStatus = "approved" if decision == "approve" else "rejected"
        this_item = (AI.c.approval_id == approval_id, AI.c.call_id == call_id)
        open_item = (*this_item, AI.c.status == "pending", AI.c.expires_at > now)

        def work(conn: Connection) -> ApprovalRequest:
            # The row lock (PostgreSQL; SQLite's write lock already serialises) makes the
            # count below the one every concurrent decider of this item sees in turn.
            locked = select(AI.c.call_id).where(*open_item).with_for_update()
            if conn.execute(locked).first() is None:
                raise self._undecidable(conn, approval_id, call_id)
            if seen_decisions is not None:
                given = select(AD.c.id).where(
                    AD.c.approval_id == approval_id, AD.c.call_id == call_id
                )
                if len(conn.execute(given).all()) != seen_decisions:
                    raise Conflict(
                        f"another decision on call {call_id!r} landed first; look again and retry"
                    )
            conn.execute(
                insert(AD).values(
                    approval_id=approval_id,
                    call_id=call_id,
                    decision=decision,
                    decided_by=user_id,
                    decided_by_name=user_name,
                    reason=reason,
                    decided_at=now,
                    decided_via=via,
                    rule_ids=list(rule_ids),
                )
            )
            events = [*([audit] if audit is not None else []), *also_audit]
            if not final:
                if events:
                    self._append_audit_in(conn, events)
                return self._approval(conn, approval_id)
            result = conn.execute(
                update(AI)
                .where(*open_item)
                .values(
                    status=item_status,
                    decision=decision,
                    decided_by=user_id,
                    decided_by_name=user_name,
                    reason=reason,
                    decided_at=now,
                    decided_via=via,
                )
            )
            if result.rowcount == 0:
                raise self._undecidable(conn, approval_id, call_id)
            conn.execute(
                update(TC)
                .where(TC.c.id == call_id, TC.c.status == "awaiting_approval")
                .values(status=item_status)
            )
            if events:
                self._append_audit_in(conn, events)
            return self._approval(conn, approval_id)

        return await self._write(work)

    @staticmethod
    def _undecidable(conn: Connection, approval_id: str, call_id: str) -> Exception:
        stmt = select(AI.c.status).where(AI.c.approval_id == approval_id, AI.c.call_id == call_id)
        current = conn.execute(stmt).scalar_one_or_none()
        if current is None:
            return NotFound(f"no call {call_id!r} in approval request {approval_id!r}")
        if current == "pending":
            return Conflict(f"approval request {approval_id!r} has expired")
        return Conflict(f"call {call_id!r} of approval {approval_id!r} is already {current!r}")

    async def expire_approvals(
        self, now: datetime, *, run_id: str | None = None
    ) -> list[ApprovalRequest]:
        due: tuple[ColumnElement[bool], ...] = (AI.c.status == "pending", AI.c.expires_at <= now)
        if run_id is not None:
            # Every pending item of the run, due or not: the run can no longer act on them.
            runs_items = select(A.c.id).where(A.c.run_id == run_id)
            due = (AI.c.status == "pending", AI.c.approval_id.in_(runs_items))

        def work(conn: Connection) -> list[ApprovalRequest]:
            rows = conn.execute(select(AI.c.approval_id, AI.c.call_id).where(*due)).all()
            if not rows:
                return []
            conn.execute(update(AI).where(*due).values(status="expired"))
            conn.execute(
                update(TC)
                .where(TC.c.id.in_([r.call_id for r in rows]), TC.c.status == "awaiting_approval")
                .values(status="expired", finished_at=self._now())
            )
            approval_ids = sorted({r.approval_id for r in rows})
            return [self._approval(conn, approval_id) for approval_id in approval_ids]

        return await self._write(work)


def _requirement_json(
    requirements: Mapping[str, Requirement] | None, call_id: str
) -> dict[str, Any] | None:
    requirement = (requirements or {}).get(call_id)
    return None if requirement is None else requirement.model_dump(mode="json")


def _decision(row: Any) -> ApprovalDecision:
    return ApprovalDecision(
        call_id=row["call_id"],
        decision=row["decision"],
        decided_by=row["decided_by"],
        decided_by_name=row["decided_by_name"],
        reason=row["reason"],
        decided_at=row["decided_at"],
        decided_via=row["decided_via"],
        rule_ids=tuple(row.get("rule_ids") or ()),
    )


def _item(row: Any, given: Mapping[str, list[ApprovalDecision]]) -> ApprovalItem:
    decisions = tuple(given.get(row["call_id"], ()))
    decision = None
    if row["decision"] is not None:
        # Items decided before decisions had their own table have no rows there.
        decision = decisions[-1] if decisions else _decision(row)
    return ApprovalItem(
        call_id=row["call_id"],
        tool=row["tool"],
        args=row["args"],
        context=row["context"],
        destructive=row["destructive"],
        call_hash=row["call_hash"],
        cluster=row["cluster"],
        preview=row["preview"],
        preview_state=row["preview_state"],
        command=row["command"],
        status=row["status"],
        call_status=row["call_status"],
        decision=decision,
        requirement=row["requirement"],
        decisions=decisions,
    )


def _has_item(*statuses: str) -> ColumnElement[bool]:
    return exists().where(AI.c.approval_id == A.c.id, AI.c.status.in_(statuses))


def _status_conditions(status: ApprovalStatus) -> list[ColumnElement[bool]]:
    """SQL for `ApprovalRequest.status`: pending > expired > rejected > approved."""
    if status == "pending":
        return [_has_item("pending")]
    if status == "expired":
        return [~_has_item("pending"), _has_item("expired")]
    if status == "rejected":
        return [~_has_item("pending", "expired"), _has_item("rejected")]
    return [~_has_item("pending", "expired", "rejected")]
