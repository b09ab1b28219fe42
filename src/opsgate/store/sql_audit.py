"""The audit log on SQL: the part of `SqlStore` that appends, reads, verifies and vouches.

`SqlStore` inherits these methods. Appends and verification run on driver-level SQL
(`audit_log`, `audit_verify`; on SQLite through `sqlite_audit`), keyed with the audit key the
store was opened with; `write_batch` (in `sql`) appends through the same `append_many`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Connection, select, union
from sqlalchemy.exc import SQLAlchemyError

from opsgate.domain.audit import AuditEvent, AuditHead, AuditKind
from opsgate.errors import StoreError
from opsgate.store import audit_head, audit_log, audit_verify, tables
from opsgate.store.driver_sql import SaDriverSql
from opsgate.store.records import ApprovalEvidence, AuditFilter, ChainVerification, NewAuditEvent
from opsgate.store.sql_base import SqlBase, brief

A = tables.audit_log


class AuditStore(SqlBase):
    """Audit methods; see `opsgate.store.protocol.Store` for the contract."""

    async def append_audit(
        self,
        kind: AuditKind,
        payload: dict[str, Any],
        *,
        actor_id: str | None,
        actor_name: str,
        conversation_id: str | None = None,
        run_id: str | None = None,
        call_id: str | None = None,
    ) -> AuditEvent:
        new = NewAuditEvent(kind, payload, actor_id, actor_name, conversation_id, run_id, call_id)
        return (await self.append_audit_many([new]))[0]

    async def append_audit_many(self, events: Sequence[NewAuditEvent]) -> list[AuditEvent]:
        """Append several events in one transaction (one lock, one commit)."""
        if self._sqlite_audit is not None:
            return await self._sqlite_audit.append(events)
        return await self._write(lambda conn: self._append_audit_in(conn, events))

    async def list_audit(
        self, flt: AuditFilter | None = None, *, limit: int = 100, after_seq: int = 0
    ) -> list[AuditEvent]:
        return await self._read(
            lambda conn: audit_log.list_events(conn, flt, limit=limit, after_seq=after_seq)
        )

    async def iter_audit(self, flt: AuditFilter | None = None) -> AsyncIterator[AuditEvent]:
        """Every matching event in seq order, fetched in keyset pages (never all at once)."""
        after = 0
        while True:
            page = await self.list_audit(flt, limit=audit_log.BATCH, after_seq=after)
            for event in page:
                yield event
            if len(page) < audit_log.BATCH:
                return
            after = page[-1].seq

    async def verify_audit(self) -> ChainVerification:
        if self._sqlite_audit is not None:
            return await self._sqlite_audit.verify()
        try:
            async with self._engines.read.connect() as conn:
                return await conn.run_sync(
                    lambda sync: audit_verify.verify_chain(SaDriverSql(sync), self._audit_key)
                )
        except SQLAlchemyError as e:
            raise StoreError(f"database read failed: {brief(e)}") from e

    async def get_audit_head(self) -> AuditHead | None:
        """The head record as stored, unchecked (None when its row is missing)."""
        return (await self._read(lambda conn: audit_head.read(SaDriverSql(conn)))).head

    async def check_audit_head(self) -> None:
        """Raise `StoreError` unless the signed head names the table's last event (at start)."""
        state = await self._read(lambda conn: audit_head.read(SaDriverSql(conn)))
        trouble = audit_head.problem(state, self._audit_key)
        if trouble is not None:
            raise StoreError(
                f"the audit log does not match its signed head record: {trouble.reason}; "
                "see `opsgate audit verify`"
            )

    async def approval_evidence(self, approval_id: str, call_id: str) -> ApprovalEvidence:
        runs = union(
            select(tables.approvals.c.run_id).where(tables.approvals.c.id == approval_id),
            select(tables.tool_calls.c.run_id).where(tables.tool_calls.c.id == call_id),
        )
        # The events of the approval's and the call's run (the engine puts the run on every
        # approval event), through the run_id index; `audit_verify` skips the other kinds.
        # Authenticity is decided on each event's own HMAC, so a row edited elsewhere
        # (approvals, tool_calls) can only hide evidence, never make it.
        stmt = select(*audit_log.SELECTED).where(A.c.run_id.in_(runs)).order_by(A.c.seq)

        def work(conn: Connection) -> ApprovalEvidence:
            head = audit_head.read(SaDriverSql(conn)).head
            signed = head is not None and audit_head.signed_by(head, self._audit_key)
            # Without a trustworthy head, no event may pass for one older than the key.
            keyed_from = head.keyed_from if signed and head is not None else 1
            rows = conn.execute(stmt).all()
            return audit_verify.approval_evidence(
                rows, self._audit_key, keyed_from, approval_id, call_id
            )

        return await self._read(work)
