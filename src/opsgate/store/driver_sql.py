"""Driver-level SQL inside one open transaction, for the audit log's hot paths.

`audit_log` (appends), `audit_head` and `audit_verify` speak it; `SqlStore` hands them a
`SaDriverSql` over a SQLAlchemy connection, `sqlite_audit` its own over a plain sqlite3 cursor.
Building SQLAlchemy statements per call costs more than the database work of an append, so
these paths use plain statements (`?` placeholders on SQLite, `%(name)s` on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection


class DriverSql(Protocol):
    """Driver-level statements inside one open transaction (SQLAlchemy or plain sqlite3)."""

    def rows(self, statement: str) -> Sequence[Sequence[Any]]: ...
    def execute(self, statement: str, params: Any) -> None: ...
    def execute_many(self, statement: str, rows: list[Any]) -> None: ...


@dataclass(frozen=True)
class SaDriverSql:
    """`DriverSql` over a SQLAlchemy connection (PostgreSQL appends, verification)."""

    conn: Connection

    def rows(self, statement: str) -> Sequence[Sequence[Any]]:
        result = self.conn.exec_driver_sql(statement)
        return result.all() if result.returns_rows else []

    def execute(self, statement: str, params: Any) -> None:
        self.conn.exec_driver_sql(statement, params)

    def execute_many(self, statement: str, rows: list[Any]) -> None:
        self.conn.exec_driver_sql(statement, rows[0] if len(rows) == 1 else rows)
