"""Model turn usage on SQL: each turn's tokens, cost and timing, and their sums.

`SqlStore` inherits this. `write_batch` stores a turn's usage beside its assistant message
(`NewMessage.usage`); the API sums them for a conversation (`conversation_usage`, the chat
view's header) and per user, model or UTC day (`usage_by`, the admin Usage page). A cost is
NULL when the model's price is unknown: sums add the priced turns and count the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, Row, case, func, insert, select

from opsgate.domain.usage import TurnUsage, UsageGroup, UsageGrouping, UsageTotal
from opsgate.store import tables
from opsgate.store.sql_base import SqlBase

T, R, U = tables.model_turns, tables.runs, tables.users
_INSERT_TURNS = insert(T)
_SUMS = (
    func.count().label("turns"),
    func.coalesce(func.sum(T.c.input_tokens), 0).label("input_tokens"),
    func.coalesce(func.sum(T.c.output_tokens), 0).label("output_tokens"),
    func.sum(T.c.cost_usd).label("cost_usd"),
    func.coalesce(func.sum(case((T.c.cost_usd.is_(None), 1), else_=0)), 0).label("unpriced_turns"),
)


def _total(row: Row[Any]) -> dict[str, Any]:
    return {
        "turns": int(row.turns),
        "input_tokens": int(row.input_tokens),
        "output_tokens": int(row.output_tokens),
        "cost_usd": None if row.cost_usd is None else float(row.cost_usd),
        "unpriced_turns": int(row.unpriced_turns),
    }


class UsageStore(SqlBase):
    """See `Store.conversation_usage` and `Store.usage_by`."""

    def _insert_model_turns(
        self,
        conn: Connection,
        turns: Sequence[tuple[str, str, str | None, TurnUsage]],
        created_at: datetime,
    ) -> None:
        """Store `(message id, conversation id, run id, usage)` rows (inside `write_batch`)."""
        rows = [
            {
                "message_id": message_id,
                "conversation_id": conversation_id,
                "run_id": run_id,
                **usage.model_dump(),
                "created_at": created_at,
            }
            for message_id, conversation_id, run_id, usage in turns
        ]
        conn.execute(_INSERT_TURNS, rows)

    async def conversation_usage(self, conversation_id: str) -> UsageTotal:
        stmt = select(*_SUMS).where(T.c.conversation_id == conversation_id)
        row = await self._read(lambda conn: conn.execute(stmt).one())
        return UsageTotal.model_validate(_total(row))

    async def usage_by(
        self, group_by: UsageGrouping, *, since: datetime | None = None
    ) -> list[UsageGroup]:
        key: ColumnElement[Any]
        label: ColumnElement[Any]
        source: FromClause
        if group_by == "model":
            key = label = T.c.model
            source = T
        elif group_by == "user":
            key = R.c.requested_by
            label = func.coalesce(func.max(U.c.username), R.c.requested_by)
            source = T.join(R, R.c.id == T.c.run_id).outerjoin(U, U.c.id == R.c.requested_by)
        else:
            key = label = self._utc_day(T.c.created_at)
            source = T
        stmt = select(key.label("key"), label.label("label"), *_SUMS).select_from(source)
        if since is not None:
            stmt = stmt.where(T.c.created_at >= since)
        stmt = stmt.group_by(key).order_by(key)
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [
            UsageGroup.model_validate({"key": str(r.key), "label": str(r.label), **_total(r)})
            for r in rows
        ]

    def _utc_day(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """`YYYY-MM-DD` of a time in UTC (SQLite keeps times as naive UTC text)."""
        if self.backend == "postgresql":
            return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
        return func.date(column)
