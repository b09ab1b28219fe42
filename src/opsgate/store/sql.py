"""`SqlStore`: the `Store` protocol on SQLite (default) and PostgreSQL, via SQLAlchemy async.

The CLI and tests open it with `open_store(url, secret_key=..., audit_key=...)`, which runs
the migrations and checks the audit head; the engine, API and CLI then call its methods.
Writes run in transactions that take the write lock up front (see `db`), so conditional
updates (`decide`, `set_call_status(expected=...)`) are atomic across processes.
Transactions live in `sql_base`, users and tokens in `sql_users`, calls and approvals in
`sql_calls`, spent approval tokens in `sql_spent`, saved policies in `sql_policy`, the audit
log in `sql_audit`, snapshots in `sql_snapshots`, alert groups in `sql_alerts`, model turn
usage in `sql_usage`, webhooks and their outbox in `sql_webhooks`, Slack links and seen
requests in `sql_slack`; this module holds conversations, runs, stream events, batches and
Jenkins servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from opsgate.domain.runs import FINAL_RUN_STATUSES, MessageRole, RunKind, RunStatus
from opsgate.errors import ConfigError, Conflict, NotFound, StoreError
from opsgate.store import db, event_notices, tables
from opsgate.store.records import (
    CallChange,
    Conversation,
    JenkinsServerRecord,
    Message,
    NewAuditEvent,
    NewCall,
    NewMessage,
    NewRecord,
    NewStreamEvent,
    Run,
    StreamEvent,
)
from opsgate.store.sql_alerts import AlertGroupsStore
from opsgate.store.sql_audit import AuditStore
from opsgate.store.sql_base import brief, check_audit_key
from opsgate.store.sql_calls import CallsStore
from opsgate.store.sql_leases import LeasesStore
from opsgate.store.sql_policy import PolicyStore
from opsgate.store.sql_slack import SlackStore
from opsgate.store.sql_snapshots import SnapshotsStore
from opsgate.store.sql_spent import SpentApprovalsStore
from opsgate.store.sql_usage import UsageStore
from opsgate.store.sql_users import UsersStore
from opsgate.store.sql_webhooks import WebhooksStore

C, M, R = tables.conversations, tables.messages, tables.runs
EV, J = tables.stream_events, tables.jenkins_servers
# Built once for the per-step hot path: values come as execute() parameters, so no statement
# is constructed (and cache-keyed) again for every call.
_TOUCH_CONVERSATION = update(C).where(C.c.id == bindparam("b_id"))
_INSERT_MESSAGE = insert(M)
# No `sort_by_parameter_order`: with it SQLAlchemy finds no sentinel column and falls back to
# one INSERT per event; `_insert_events` orders the returned ids itself.
_INSERT_EVENTS = insert(EV).returning(EV.c.id)
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class SqlStore(
    SlackStore,
    UsersStore,
    CallsStore,
    SpentApprovalsStore,
    LeasesStore,
    PolicyStore,
    AuditStore,
    SnapshotsStore,
    WebhooksStore,
    AlertGroupsStore,
    UsageStore,
):
    """The store on one database; create it with `open_store`."""

    # --- conversations and messages ----------------------------------------------------

    async def create_conversation(
        self, title: str, owner_id: str, contexts: Sequence[str], namespace: str | None = None
    ) -> Conversation:
        now = self._now()
        values = {
            "id": self._ids.new("cnv"),
            "title": title,
            "owner_id": owner_id,
            "contexts": list(contexts),
            "namespace": namespace,
            "created_at": now,
            "updated_at": now,
        }

        def work(conn: Connection) -> None:
            if self._one_user(conn, tables.users.c.id == owner_id) is None:
                raise NotFound(f"no user {owner_id!r}")
            conn.execute(insert(C).values(values))

        await self._write(work)
        return Conversation.model_validate(values)

    @staticmethod
    def _conversation(conn: Connection, conversation_id: str) -> Conversation:
        row = conn.execute(select(C).where(C.c.id == conversation_id)).first()
        if row is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        return Conversation.model_validate(dict(row._mapping))

    async def get_conversation(self, conversation_id: str) -> Conversation:
        return await self._read(lambda conn: self._conversation(conn, conversation_id))

    async def list_conversations(
        self, *, query: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Conversation]:
        stmt = select(C).order_by(C.c.updated_at.desc(), C.c.id.desc()).limit(limit).offset(offset)
        if query:
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(func.lower(C.c.title).like(f"%{escaped.lower()}%", escape="\\"))
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [Conversation.model_validate(dict(r._mapping)) for r in rows]

    async def rename_conversation(self, conversation_id: str, title: str) -> Conversation:
        def work(conn: Connection) -> Conversation:
            conn.execute(
                update(C)
                .where(C.c.id == conversation_id)
                .values(title=title, updated_at=self._now())
            )
            return self._conversation(conn, conversation_id)

        return await self._write(work)

    def _insert_messages(self, conn: Connection, messages: Sequence[NewMessage]) -> list[Message]:
        now = self._now()
        rows = [
            {
                "id": self._ids.new("msg"),
                "conversation_id": new.conversation_id,
                "run_id": new.run_id,
                "role": new.role,
                "text": new.text,
                "author_id": new.author_id,
                "data": new.data,
                "created_at": now,
            }
            for new in messages
        ]
        for conversation_id in dict.fromkeys(new.conversation_id for new in messages):
            touched = conn.execute(
                _TOUCH_CONVERSATION, {"b_id": conversation_id, "updated_at": now}
            )
            if touched.rowcount == 0:
                raise NotFound(f"no conversation {conversation_id!r}")
        conn.execute(_INSERT_MESSAGE, rows)
        turns = [
            (str(row["id"]), new.conversation_id, new.run_id, new.usage)
            for row, new in zip(rows, messages, strict=True)
            if new.usage is not None
        ]
        if turns:
            self._insert_model_turns(conn, turns, now)
        return [Message.model_validate(row) for row in rows]

    async def list_messages(
        self,
        conversation_id: str,
        *,
        roles: Sequence[MessageRole] | None = None,
    ) -> list[Message]:
        stmt = (
            select(M).where(M.c.conversation_id == conversation_id).order_by(M.c.created_at, M.c.id)
        )
        if roles is not None:
            stmt = stmt.where(M.c.role.in_(list(roles)))
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [Message.model_validate(dict(r._mapping)) for r in rows]

    # --- runs --------------------------------------------------------------------------

    async def create_run(
        self,
        conversation_id: str,
        kind: RunKind,
        requested_by: str,
        owner_id: str | None = None,
        client: tuple[str, str] | None = None,
    ) -> Run:
        values = {
            "id": self._ids.new("run"),
            "conversation_id": conversation_id,
            "kind": kind,
            "requested_by": requested_by,
            "status": "running",
            "reason": None,
            "created_at": self._now(),
            "finished_at": None,
            "model_turns": 0,
            "tool_calls": 0,
            "owner_id": owner_id,
            "client_name": client[0] if client is not None else None,
            "client_version": client[1] if client is not None else None,
        }

        def work(conn: Connection) -> None:
            self._conversation(conn, conversation_id)
            conn.execute(insert(R).values(values))

        await self._write(work)
        return Run.model_validate(values)

    @staticmethod
    def _run(conn: Connection, run_id: str) -> Run:
        row = conn.execute(select(R).where(R.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        return Run.model_validate(dict(row._mapping))

    @staticmethod
    def _changed_run(row: Row[Any] | None, run_id: str) -> Run:
        # The row an UPDATE ... RETURNING gave back (none: no such run).
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        return Run.model_validate(dict(row._mapping))

    async def get_run(self, run_id: str) -> Run:
        return await self._read(lambda conn: self._run(conn, run_id))

    async def list_runs(self, conversation_id: str) -> list[Run]:
        stmt = (
            select(R).where(R.c.conversation_id == conversation_id).order_by(R.c.created_at, R.c.id)
        )
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [Run.model_validate(dict(r._mapping)) for r in rows]

    async def set_run_status(
        self, run_id: str, status: RunStatus, reason: str | None = None
    ) -> Run:
        changes: dict[str, Any] = {"status": status, "reason": reason}
        if status in FINAL_RUN_STATUSES:
            changes["finished_at"] = self._now()

        def work(conn: Connection) -> Run:
            stmt = update(R).where(R.c.id == run_id).values(changes).returning(*R.c)
            return self._changed_run(conn.execute(stmt).first(), run_id)

        return await self._write(work)

    async def count_run_usage(self, run_id: str, *, model_turns: int, tool_calls: int) -> Run:
        def work(conn: Connection) -> Run:
            stmt = (
                update(R)
                .where(R.c.id == run_id)
                .values(
                    model_turns=R.c.model_turns + model_turns,
                    tool_calls=R.c.tool_calls + tool_calls,
                )
                .returning(*R.c)
            )
            return self._changed_run(conn.execute(stmt).first(), run_id)

        return await self._write(work)

    # --- stream events -----------------------------------------------------------------

    def _insert_events(
        self, conn: Connection, events: Sequence[NewStreamEvent]
    ) -> list[StreamEvent]:
        if self.backend == "postgresql":
            # Ids must become visible in id order, or a reconnecting reader skips one.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": db.EVENTS_LOCK_KEY})
        now = self._now()
        rows = [
            {
                "conversation_id": new.conversation_id,
                "run_id": new.run_id,
                "type": new.type,
                "data": new.data,
                "created_at": now,
            }
            for new in events
        ]
        # One multi-row INSERT (SQLAlchemy's insertmanyvalues). The rows get their ids in the
        # order given: the write lock (SQLite) or the advisory lock (PostgreSQL) keeps every
        # other event insert out, so the batch's ids are consecutive. Only RETURNING's row order
        # is unspecified in both databases, hence sorted.
        ids = sorted(conn.execute(_INSERT_EVENTS, rows).scalars().all())
        stored = [
            StreamEvent.model_validate({**row, "id": i}) for row, i in zip(rows, ids, strict=True)
        ]
        if self.backend == "postgresql":
            # Delivered at commit: other replicas' buses then read these from the table.
            last = {event.conversation_id: event.id for event in stored}
            conn.execute(
                _NOTIFY,
                [
                    {"channel": event_notices.CHANNEL, "payload": event_notices.payload(c, i)}
                    for c, i in last.items()
                ],
            )
        return stored

    # --- batches -----------------------------------------------------------------------

    async def write_batch(self, records: Sequence[NewRecord]) -> list[StreamEvent]:
        """Write `records` in one transaction, all or nothing; the stored stream events.

        New calls are inserted first, then call changes applied in the order given (a change
        always follows its call's insert); messages, audit events and stream events each go
        in one statement, in the order given (ids and the audit chain follow that order).
        """
        calls = [r for r in records if isinstance(r, NewCall)]
        changes = [r for r in records if isinstance(r, CallChange)]
        messages = [r for r in records if isinstance(r, NewMessage)]
        audit = [r for r in records if isinstance(r, NewAuditEvent)]
        events = [r for r in records if isinstance(r, NewStreamEvent)]

        def work(conn: Connection) -> list[StreamEvent]:
            if calls:
                self._insert_calls(conn, calls)
            for change in changes:
                self._change_call(conn, change)
            if messages:
                self._insert_messages(conn, messages)
            if audit:
                self._append_audit_in(conn, audit)
            return self._insert_events(conn, events) if events else []

        return await self._write(work)

    async def events_after(
        self, conversation_id: str, after_id: int, limit: int = 500
    ) -> list[StreamEvent]:
        stmt = (
            select(EV)
            .where(EV.c.conversation_id == conversation_id, EV.c.id > after_id)
            .order_by(EV.c.id)
            .limit(limit)
        )
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [StreamEvent.model_validate(dict(r._mapping)) for r in rows]

    async def follow_events(
        self,
        on_notice: event_notices.OnNotice,
        on_connected: event_notices.OnConnected,
        on_stop: event_notices.OnStop | None = None,
    ) -> None:
        if self.backend != "postgresql":
            raise ConfigError("only PostgreSQL tells other processes of new stream events")
        url = self._engines.write.url.render_as_string(hide_password=False)
        await event_notices.listen(event_notices.libpq_url(url), on_notice, on_connected, on_stop)

    async def request_stop(self, run_id: str, user_name: str) -> None:
        if self.backend != "postgresql":
            raise Conflict(
                f"run {run_id!r} is driven by another opsgate process on this SQLite "
                "database, which cannot be told to stop it; stop it where it was started"
            )
        payload = f"{run_id}:{user_name}"

        def work(conn: Connection) -> None:
            conn.execute(_NOTIFY, {"channel": event_notices.STOP_CHANNEL, "payload": payload})

        await self._write(work)

    # --- jenkins servers ---------------------------------------------------------------

    async def upsert_jenkins_server(
        self, name: str, url: str, user: str, token: str, verify_tls: bool = True
    ) -> JenkinsServerRecord:
        now = self._now()
        values = {
            "url": url,
            "user": user,
            "token_encrypted": self._fernet.encrypt(token.encode()).decode(),
            "verify_tls": verify_tls,
            "updated_at": now,
        }

        def work(conn: Connection) -> None:
            result = conn.execute(update(J).where(J.c.name == name).values(values))
            if result.rowcount == 0:
                conn.execute(insert(J).values({**values, "name": name, "created_at": now}))

        await self._write(work)
        return JenkinsServerRecord(name=name, url=url, user=user, verify_tls=verify_tls)

    async def list_jenkins_servers(self) -> list[JenkinsServerRecord]:
        stmt = select(J.c.name, J.c.url, J.c.user, J.c.verify_tls).order_by(J.c.name)
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [JenkinsServerRecord.model_validate(dict(r._mapping)) for r in rows]

    async def get_jenkins_server(self, name: str, *, reveal: bool = False) -> JenkinsServerRecord:
        row = await self._read(lambda conn: conn.execute(select(J).where(J.c.name == name)).first())
        if row is None:
            raise NotFound(f"no Jenkins server {name!r}")
        token = None
        if reveal:
            try:
                token = self._fernet.decrypt(row.token_encrypted.encode()).decode()
            except InvalidToken as e:
                raise StoreError(
                    f"the token of Jenkins server {name!r} cannot be decrypted with this key"
                ) from e
        return JenkinsServerRecord(
            name=row.name, url=row.url, user=row.user, verify_tls=row.verify_tls, token=token
        )

    async def delete_jenkins_server(self, name: str) -> None:
        deleted = await self._write(
            lambda conn: conn.execute(delete(J).where(J.c.name == name)).rowcount
        )
        if deleted == 0:
            raise NotFound(f"no Jenkins server {name!r}")


async def open_store(
    url: str, *, secret_key: bytes, audit_key: bytes, check_audit_head: bool = True
) -> SqlStore:
    """Open (and migrate) the database at `url` and return a ready store.

    `audit_key` keys the audit chain (at least 32 bytes; every process on the database must
    use the same one). The signed audit head is checked against the log at once: a log that
    lost its tail or gained forged events is refused with `StoreError`, unless
    `check_audit_head` is off (the `opsgate audit` commands, which report what is wrong).
    """
    check_audit_key(audit_key)
    engines = db.make_engines(url)
    try:
        await db.migrate(engines, audit_key)
        store = SqlStore(engines, secret_key, audit_key)
    except BaseException as e:
        await engines.dispose()
        if isinstance(e, SQLAlchemyError):
            raise StoreError(f"could not open the database: {brief(e)}") from e
        raise
    if check_audit_head:
        try:
            await store.check_audit_head()
        except BaseException:
            await store.close()
            raise
    return store
