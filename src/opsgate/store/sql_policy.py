"""Saved approval policies on SQL: the versions admins save in the Command Center.

`SqlStore` inherits this. A save appends a version (never updates one) together with its
`policy.changed` audit event; the engine's policy source reads the newest as the active policy.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from opsgate.domain import audit_payloads as ap
from opsgate.store import tables
from opsgate.store.records import NewAuditEvent, PolicyVersion
from opsgate.store.sql_base import SqlBase

PV = tables.policy_versions


class PolicyStore(SqlBase):
    """Policy versions; see `Store.save_policy_version`."""

    async def save_policy_version(
        self, text: str, *, user_id: str, user_name: str, previous: str, diff: str
    ) -> PolicyVersion:
        version = PolicyVersion(
            id=self._ids.new("pol"),
            text=text,
            saved_by=user_id,
            saved_by_name=user_name,
            saved_at=self._now(),
        )

        changed = ap.PolicyChanged(version_id=version.id, previous=previous, diff=diff)
        audit = NewAuditEvent(
            kind=changed.kind, payload=changed.payload(), actor_id=user_id, actor_name=user_name
        )

        def work(conn: Connection) -> PolicyVersion:
            conn.execute(insert(PV).values(version.model_dump()))
            self._append_audit_in(conn, [audit])
            return version

        return await self._write(work)

    async def latest_policy_version(self) -> PolicyVersion | None:
        stmt = select(PV).order_by(PV.c.saved_at.desc(), PV.c.id.desc()).limit(1)

        def work(conn: Connection) -> PolicyVersion | None:
            row = conn.execute(stmt).first()
            return None if row is None else PolicyVersion.model_validate(dict(row._mapping))

        return await self._read(work)
