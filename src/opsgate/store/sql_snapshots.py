"""Snapshots on SQL: each executed change's targets as they were, and the call undoing it.

`SqlStore` inherits this. The engine saves a snapshot just before an approved change runs
(`engine.execution`); the undo offer (`engine.undo`) reads it back for the API and the CLI.
One row per call: a second snapshot of the same call is a `Conflict` (a change runs once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from opsgate.domain.canonical import canonical_json, sha256_hex
from opsgate.errors import NotFound
from opsgate.store import tables
from opsgate.store.records import Snapshot, snapshot_content
from opsgate.store.sql_base import SqlBase

S = tables.snapshots


class SnapshotsStore(SqlBase):
    """See `Store.save_snapshot` and `Store.get_snapshot`."""

    async def save_snapshot(
        self,
        *,
        call_id: str,
        conversation_id: str,
        run_id: str,
        tool: str,
        objects: list[dict[str, Any]],
        undo: dict[str, Any] | None,
        cannot_undo: str | None,
        taken_at: datetime | None = None,
    ) -> Snapshot:
        content = snapshot_content(call_id, tool, objects, undo, cannot_undo)
        values = {
            **content,
            "conversation_id": conversation_id,
            "run_id": run_id,
            "taken_at": taken_at or self._now(),
            "sha256": sha256_hex(canonical_json(content)),
        }

        def work(conn: Connection) -> None:
            if self._call_exists(conn, call_id):
                conn.execute(insert(S).values(values))
            else:
                raise NotFound(f"no call {call_id!r}")

        await self._write(work)
        return Snapshot.model_validate(values)

    async def get_snapshot(self, call_id: str) -> Snapshot:
        stmt = select(S).where(S.c.call_id == call_id)
        row = await self._read(lambda conn: conn.execute(stmt).first())
        if row is None:
            raise NotFound(f"no snapshot of call {call_id!r}")
        return Snapshot.model_validate(dict(row._mapping))

    @staticmethod
    def _call_exists(conn: Connection, call_id: str) -> bool:
        calls = tables.tool_calls
        return conn.execute(select(calls.c.id).where(calls.c.id == call_id)).first() is not None
