"""Spent approval tokens on SQL: what makes an approval token single use across processes.

`SqlStore` inherits this. Every tool server (the API's in-process one, `opsgate mcp` over
stdio or HTTP) records here the approval id of each token it admits, so a token spent by one
process is refused by every other process on the same database. The primary key makes the
check atomic: of two processes admitting the same token at once, exactly one insert lands.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite

from opsgate.errors import InvalidInput
from opsgate.store import tables
from opsgate.store.sql_base import SqlBase

SP = tables.spent_approvals
MAX_APPROVAL_ID = 200
PRUNE_GRACE = timedelta(minutes=10)
"""How long past its token's expiry an id is kept. An expired token is refused by its expiry
anyway; the grace covers tool servers whose clocks run behind the one that prunes."""


class SpentApprovalsStore(SqlBase):
    """The tool servers' shared memory of spent approvals; see `Store.spend_approval`."""

    async def spend_approval(
        self, approval_id: str, *, expires_at: datetime, now: datetime
    ) -> bool:
        if not approval_id or len(approval_id) > MAX_APPROVAL_ID:
            raise InvalidInput("approval_id", f"must be 1 to {MAX_APPROVAL_ID} characters")
        dialect = postgresql if self.backend == "postgresql" else sqlite
        insert = (
            dialect.insert(SP)
            .values(approval_id=approval_id, expires_at=expires_at, spent_at=now)
            .on_conflict_do_nothing(index_elements=[SP.c.approval_id])
            # The row comes back only if it was inserted (rowcount is -1 on async psycopg).
            .returning(SP.c.approval_id)
        )

        def work(conn: Connection) -> bool:
            conn.execute(delete(SP).where(SP.c.expires_at < now - PRUNE_GRACE))
            return conn.execute(insert).first() is not None

        return await self._write(work)
