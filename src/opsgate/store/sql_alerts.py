"""Alert groups on SQL: which conversation investigates each firing alert group.

`SqlStore` inherits this; the alert intake (`opsgate.api.alerts.intake`) calls it. A group is
keyed by its source and the SHA-256 of its dedupe key. Opening is atomic across replicas: the
primary key refuses a second open row, and a resolved row is reopened only while still
resolved, so two notifications racing for one group open one investigation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from opsgate.errors import Conflict
from opsgate.store import tables
from opsgate.store.records import AlertGroup
from opsgate.store.sql_base import SqlBase

A = tables.alert_groups


class AlertGroupsStore(SqlBase):
    """See `Store.get_alert_group`, `open_alert_group`, `alert_groups_opened_since` and
    `resolve_alert_group`."""

    async def get_alert_group(self, source: str, group_key_sha256: str) -> AlertGroup | None:
        stmt = select(A).where(A.c.source == source, A.c.group_key_sha256 == group_key_sha256)
        row = await self._read(lambda conn: conn.execute(stmt).first())
        return None if row is None else AlertGroup.model_validate(dict(row._mapping))

    async def open_alert_group(
        self,
        source: str,
        group_key_sha256: str,
        conversation_id: str,
        *,
        now: datetime | None = None,
    ) -> AlertGroup:
        at = now or self._now()
        values = {
            "source": source,
            "group_key_sha256": group_key_sha256,
            "conversation_id": conversation_id,
            "status": "open",
            "opened_at": at,
            "updated_at": at,
        }
        where = (A.c.source == source, A.c.group_key_sha256 == group_key_sha256)

        def work(conn: Connection) -> None:
            if conn.execute(select(A.c.status).where(*where)).first() is None:
                conn.execute(insert(A).values(values))
                return
            reopened = conn.execute(
                update(A).where(*where, A.c.status == "resolved").values(values)
            )
            if reopened.rowcount != 1:
                raise Conflict(f"alert group {group_key_sha256[:12]!r} is already open")

        await self._write(work)
        return AlertGroup.model_validate(values)

    async def alert_groups_opened_since(self, since: datetime) -> list[datetime]:
        stmt = select(A.c.opened_at).where(A.c.opened_at >= since).order_by(A.c.opened_at)
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [row.opened_at for row in rows]

    async def resolve_alert_group(
        self, source: str, group_key_sha256: str, *, now: datetime | None = None
    ) -> AlertGroup | None:
        where = (A.c.source == source, A.c.group_key_sha256 == group_key_sha256)

        def work(conn: Connection) -> AlertGroup | None:
            resolved = conn.execute(
                update(A)
                .where(*where, A.c.status == "open")
                .values(status="resolved", updated_at=now or self._now())
            )
            if resolved.rowcount != 1:
                return None
            row = conn.execute(select(A).where(*where)).one()
            return AlertGroup.model_validate(dict(row._mapping))

        return await self._write(work)
