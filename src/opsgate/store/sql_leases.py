"""Engine leases on SQL: which engine drives each run, and which engines are alive.

`SqlStore` mixes this in. Each engine renews its lease (`engines.heartbeat_at`); a run names
the engine driving it (`runs.owner_id`, cleared while it waits at the gate). Claims are one
conditional UPDATE, so two engines racing for a run get one owner. The engine uses it to
resume a decided run on exactly one engine and, at start and on every sweep, to settle only
runs whose owner is gone, never a live engine's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select, update

from opsgate.domain.runs import FINAL_RUN_STATUSES
from opsgate.store import tables
from opsgate.store.records import Run
from opsgate.store.sql_base import SqlBase

R, E = tables.runs, tables.engines


def _unowned(engine_id: str, alive_since: datetime) -> ColumnElement[bool]:
    """No owner, this engine, or an owner whose lease ran out."""
    live = select(E.c.id).where(E.c.heartbeat_at > alive_since)
    return or_(R.c.owner_id.is_(None), R.c.owner_id == engine_id, R.c.owner_id.not_in(live))


class LeasesStore(SqlBase):
    """Engine leases and run ownership; see `opsgate.store.protocol.Store`."""

    async def renew_lease(self, engine_id: str, now: datetime) -> None:
        def work(conn: Connection) -> None:
            renewed = conn.execute(
                update(E).where(E.c.id == engine_id).values(heartbeat_at=now)
            ).rowcount
            if renewed == 0:
                conn.execute(insert(E).values(id=engine_id, started_at=now, heartbeat_at=now))

        await self._write(work)

    async def release_lease(self, engine_id: str) -> None:
        def work(conn: Connection) -> None:
            conn.execute(delete(E).where(E.c.id == engine_id))

        await self._write(work)

    async def claim_run(
        self, run_id: str, engine_id: str, *, now: datetime, lease_s: float
    ) -> bool:
        alive_since = now - timedelta(seconds=lease_s)

        def work(conn: Connection) -> bool:
            stmt = (
                update(R)
                .where(R.c.id == run_id, _unowned(engine_id, alive_since))
                .values(owner_id=engine_id)
            )
            return bool(conn.execute(stmt).rowcount == 1)

        return await self._write(work)

    async def release_run(self, run_id: str, engine_id: str) -> None:
        def work(conn: Connection) -> None:
            conn.execute(
                update(R).where(R.c.id == run_id, R.c.owner_id == engine_id).values(owner_id=None)
            )

        await self._write(work)

    async def orphaned_runs(self, engine_id: str, *, now: datetime, lease_s: float) -> list[Run]:
        alive_since = now - timedelta(seconds=lease_s)
        stmt = (
            select(R)
            .where(R.c.status.not_in(sorted(FINAL_RUN_STATUSES)), _unowned(engine_id, alive_since))
            .order_by(R.c.created_at, R.c.id)
        )
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [Run.model_validate(dict(r._mapping)) for r in rows]
