"""`SqlStore`: the `Store` protocol on SQLite (default) and PostgreSQL, via SQLAlchemy async.

The CLI and tests open it with `open_store(url, secret_key=...)`, which runs the migrations;
the engine, API and CLI then call its methods. Writes run in transactions that take the write
lock up front (see `db`), so conditional updates (`decide`, `set_call_status(expected=...)`)
are atomic across processes. Transactions live in `sql_base`, calls and approvals in
`sql_calls`, the audit log in `audit_log`; this module holds users, tokens, conversations,
runs, stream events and Jenkins servers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal

from cryptography.fernet import InvalidToken
from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from opsgate.domain.audit import AuditEvent, AuditKind
from opsgate.domain.roles import Role
from opsgate.domain.runs import FINAL_RUN_STATUSES, RunStatus
from opsgate.errors import Conflict, NotFound, StoreError
from opsgate.store import audit_log, db, tables
from opsgate.store.records import (
    ApiToken,
    AuditFilter,
    ChainVerification,
    Conversation,
    JenkinsServerRecord,
    Message,
    Run,
    StreamEvent,
    User,
    UserWithSecret,
)
from opsgate.store.sql_base import brief
from opsgate.store.sql_calls import CallsStore

U, TK, C, M, R = (
    tables.users,
    tables.api_tokens,
    tables.conversations,
    tables.messages,
    tables.runs,
)
EV, J = tables.stream_events, tables.jenkins_servers
_USER_COLUMNS = (U.c.id, U.c.username, U.c.role, U.c.disabled, U.c.created_at)


class SqlStore(CallsStore):
    """The store on one database; create it with `open_store`."""

    # --- users and tokens --------------------------------------------------------------

    async def create_user(self, username: str, role: Role, password_hash: str | None) -> User:
        values = {
            "id": self._ids.new("usr"),
            "username": username,
            "role": role,
            "disabled": False,
            "password_hash": password_hash,
            "created_at": self._now(),
        }
        try:
            async with self._write() as conn:
                await conn.execute(insert(U).values(values))
        except Conflict as e:
            raise Conflict(f"user {username!r} already exists") from e
        return User.model_validate(values)

    async def _one_user(self, conn: AsyncConnection, *where: Any) -> UserWithSecret | None:
        row = (await conn.execute(select(*_USER_COLUMNS, U.c.password_hash).where(*where))).first()
        return None if row is None else UserWithSecret.model_validate(dict(row._mapping))

    async def get_user(self, user_id: str) -> UserWithSecret:
        async with self._read() as conn:
            user = await self._one_user(conn, U.c.id == user_id)
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return user

    async def get_user_by_name(self, username: str) -> UserWithSecret:
        async with self._read() as conn:
            user = await self._one_user(conn, U.c.username == username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        return user

    async def list_users(self) -> list[User]:
        async with self._read() as conn:
            rows = (await conn.execute(select(*_USER_COLUMNS).order_by(U.c.username))).all()
        return [User.model_validate(dict(r._mapping)) for r in rows]

    async def count_users(self) -> int:
        async with self._read() as conn:
            return int((await conn.execute(select(func.count()).select_from(U))).scalar_one())

    async def update_user(
        self,
        user_id: str,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> User:
        changes: dict[str, Any] = {}
        if role is not None:
            changes["role"] = role
        if disabled is not None:
            changes["disabled"] = disabled
        if password_hash is not None:
            changes["password_hash"] = password_hash
        async with self._write() as conn:
            if changes:
                await conn.execute(update(U).where(U.c.id == user_id).values(changes))
            user = await self._one_user(conn, U.c.id == user_id)
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return User.model_validate(user.model_dump(exclude={"password_hash"}))

    async def create_token(
        self, user_id: str, name: str, token_hash: str, prefix: str, expires_at: datetime | None
    ) -> ApiToken:
        values = {
            "id": self._ids.new("tok"),
            "user_id": user_id,
            "name": name,
            "token_hash": token_hash,
            "prefix": prefix,
            "created_at": self._now(),
            "expires_at": expires_at,
            "revoked_at": None,
            "last_used_at": None,
        }
        async with self._write() as conn:
            if await self._one_user(conn, U.c.id == user_id) is None:
                raise NotFound(f"no user {user_id!r}")
            await conn.execute(insert(TK).values(values))
        return ApiToken.model_validate(values)

    async def find_token(self, token_hash: str) -> tuple[ApiToken, User] | None:
        now = self._now()
        live = and_(
            TK.c.token_hash == token_hash,
            TK.c.revoked_at.is_(None),
            or_(TK.c.expires_at.is_(None), TK.c.expires_at > now),
            U.c.disabled.is_(False),
        )
        async with self._write() as conn:
            stmt = select(TK.c.id).select_from(TK.join(U, TK.c.user_id == U.c.id)).where(live)
            token_id = (await conn.execute(stmt)).scalar_one_or_none()
            if token_id is None:
                return None
            await conn.execute(update(TK).where(TK.c.id == token_id).values(last_used_at=now))
            token = await self._token(conn, token_id)
            user = await self._one_user(conn, U.c.id == token.user_id)
        assert user is not None  # the join above found it inside this transaction
        return token, User.model_validate(user.model_dump(exclude={"password_hash"}))

    async def _token(self, conn: AsyncConnection, token_id: str) -> ApiToken:
        stmt = select(*(c for c in TK.c if c.name != "token_hash")).where(TK.c.id == token_id)
        row = (await conn.execute(stmt)).first()
        if row is None:
            raise NotFound(f"no token {token_id!r}")
        return ApiToken.model_validate(dict(row._mapping))

    async def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        stmt = select(*(c for c in TK.c if c.name != "token_hash")).order_by(TK.c.created_at)
        if user_id is not None:
            stmt = stmt.where(TK.c.user_id == user_id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [ApiToken.model_validate(dict(r._mapping)) for r in rows]

    async def revoke_token(self, token_id: str) -> ApiToken:
        async with self._write() as conn:
            await conn.execute(
                update(TK)
                .where(TK.c.id == token_id, TK.c.revoked_at.is_(None))
                .values(revoked_at=self._now())
            )
            return await self._token(conn, token_id)

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
        async with self._write() as conn:
            if await self._one_user(conn, U.c.id == owner_id) is None:
                raise NotFound(f"no user {owner_id!r}")
            await conn.execute(insert(C).values(values))
        return Conversation.model_validate(values)

    async def _conversation(self, conn: AsyncConnection, conversation_id: str) -> Conversation:
        row = (await conn.execute(select(C).where(C.c.id == conversation_id))).first()
        if row is None:
            raise NotFound(f"no conversation {conversation_id!r}")
        return Conversation.model_validate(dict(row._mapping))

    async def get_conversation(self, conversation_id: str) -> Conversation:
        async with self._read() as conn:
            return await self._conversation(conn, conversation_id)

    async def list_conversations(
        self, *, query: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Conversation]:
        stmt = select(C).order_by(C.c.updated_at.desc(), C.c.id.desc()).limit(limit).offset(offset)
        if query:
            escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(func.lower(C.c.title).like(f"%{escaped.lower()}%", escape="\\"))
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Conversation.model_validate(dict(r._mapping)) for r in rows]

    async def rename_conversation(self, conversation_id: str, title: str) -> Conversation:
        async with self._write() as conn:
            await conn.execute(
                update(C)
                .where(C.c.id == conversation_id)
                .values(title=title, updated_at=self._now())
            )
            return await self._conversation(conn, conversation_id)

    async def add_message(
        self,
        conversation_id: str,
        role: Literal["user", "assistant", "tool", "system"],
        text: str,
        *,
        run_id: str | None = None,
        author_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Message:
        now = self._now()
        values = {
            "id": self._ids.new("msg"),
            "conversation_id": conversation_id,
            "run_id": run_id,
            "role": role,
            "text": text,
            "author_id": author_id,
            "data": data,
            "created_at": now,
        }
        async with self._write() as conn:
            result = await conn.execute(
                update(C).where(C.c.id == conversation_id).values(updated_at=now)
            )
            if result.rowcount == 0:
                raise NotFound(f"no conversation {conversation_id!r}")
            await conn.execute(insert(M).values(values))
        return Message.model_validate(values)

    async def list_messages(self, conversation_id: str) -> list[Message]:
        stmt = (
            select(M).where(M.c.conversation_id == conversation_id).order_by(M.c.created_at, M.c.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Message.model_validate(dict(r._mapping)) for r in rows]

    # --- runs --------------------------------------------------------------------------

    async def create_run(
        self, conversation_id: str, kind: Literal["chat", "direct"], requested_by: str
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
        }
        async with self._write() as conn:
            await self._conversation(conn, conversation_id)
            await conn.execute(insert(R).values(values))
        return Run.model_validate(values)

    async def _run(self, conn: AsyncConnection, run_id: str) -> Run:
        row = (await conn.execute(select(R).where(R.c.id == run_id))).first()
        if row is None:
            raise NotFound(f"no run {run_id!r}")
        return Run.model_validate(dict(row._mapping))

    async def get_run(self, run_id: str) -> Run:
        async with self._read() as conn:
            return await self._run(conn, run_id)

    async def list_runs(self, conversation_id: str) -> list[Run]:
        stmt = (
            select(R).where(R.c.conversation_id == conversation_id).order_by(R.c.created_at, R.c.id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Run.model_validate(dict(r._mapping)) for r in rows]

    async def set_run_status(
        self, run_id: str, status: RunStatus, reason: str | None = None
    ) -> Run:
        changes: dict[str, Any] = {"status": status, "reason": reason}
        if status in FINAL_RUN_STATUSES:
            changes["finished_at"] = self._now()
        async with self._write() as conn:
            await conn.execute(update(R).where(R.c.id == run_id).values(changes))
            return await self._run(conn, run_id)

    async def count_run_usage(self, run_id: str, *, model_turns: int, tool_calls: int) -> Run:
        async with self._write() as conn:
            await conn.execute(
                update(R)
                .where(R.c.id == run_id)
                .values(
                    model_turns=R.c.model_turns + model_turns,
                    tool_calls=R.c.tool_calls + tool_calls,
                )
            )
            return await self._run(conn, run_id)

    # --- stream events -----------------------------------------------------------------

    async def append_event(
        self, conversation_id: str, run_id: str, type: str, data: dict[str, Any]
    ) -> StreamEvent:
        values = {
            "conversation_id": conversation_id,
            "run_id": run_id,
            "type": type,
            "data": data,
            "created_at": self._now(),
        }
        async with self._write() as conn:
            if self.backend == "postgresql":
                # Ids must become visible in id order, or a reconnecting reader skips one.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": db.EVENTS_LOCK_KEY}
                )
            event_id = (
                await conn.execute(insert(EV).values(values).returning(EV.c.id))
            ).scalar_one()
        return StreamEvent.model_validate({**values, "id": event_id})

    async def events_after(
        self, conversation_id: str, after_id: int, limit: int = 500
    ) -> list[StreamEvent]:
        stmt = (
            select(EV)
            .where(EV.c.conversation_id == conversation_id, EV.c.id > after_id)
            .order_by(EV.c.id)
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [StreamEvent.model_validate(dict(r._mapping)) for r in rows]

    # --- audit -------------------------------------------------------------------------

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
        new = audit_log.NewAuditEvent(
            kind, payload, actor_id, actor_name, conversation_id, run_id, call_id
        )
        return (await self.append_audit_many([new]))[0]

    async def append_audit_many(
        self, events: Sequence[audit_log.NewAuditEvent]
    ) -> list[AuditEvent]:
        """Append several events in one transaction (one lock, one commit)."""
        if self._sqlite_audit is not None:
            return await asyncio.to_thread(self._sqlite_audit.append, events)
        async with self._write() as conn:
            return await conn.run_sync(
                lambda sync: audit_log.append_many(
                    audit_log.SaDriverSql(sync), "postgresql", events
                )
            )

    async def list_audit(
        self, flt: AuditFilter | None = None, *, limit: int = 100, after_seq: int = 0
    ) -> list[AuditEvent]:
        async with self._read() as conn:
            return await audit_log.list_events(conn, flt, limit=limit, after_seq=after_seq)

    async def iter_audit(self, flt: AuditFilter | None = None) -> AsyncIterator[AuditEvent]:
        async for event in audit_log.iter_events(self._engines, flt):
            yield event

    async def verify_audit(self) -> ChainVerification:
        if self._sqlite_audit is not None:
            return await asyncio.to_thread(self._sqlite_audit.verify)
        try:
            async with self._engines.read.connect() as conn:
                return await conn.run_sync(
                    lambda sync: audit_log.verify_chain(audit_log.SaDriverSql(sync))
                )
        except SQLAlchemyError as e:
            raise StoreError(f"database read failed: {brief(e)}") from e

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
        async with self._write() as conn:
            result = await conn.execute(update(J).where(J.c.name == name).values(values))
            if result.rowcount == 0:
                await conn.execute(insert(J).values({**values, "name": name, "created_at": now}))
        return JenkinsServerRecord(name=name, url=url, user=user, verify_tls=verify_tls)

    async def list_jenkins_servers(self) -> list[JenkinsServerRecord]:
        stmt = select(J.c.name, J.c.url, J.c.user, J.c.verify_tls).order_by(J.c.name)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [JenkinsServerRecord.model_validate(dict(r._mapping)) for r in rows]

    async def get_jenkins_server(self, name: str, *, reveal: bool = False) -> JenkinsServerRecord:
        async with self._read() as conn:
            row = (await conn.execute(select(J).where(J.c.name == name))).first()
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
        async with self._write() as conn:
            result = await conn.execute(delete(J).where(J.c.name == name))
        if result.rowcount == 0:
            raise NotFound(f"no Jenkins server {name!r}")


async def open_store(url: str, *, secret_key: bytes) -> SqlStore:
    """Open (and migrate) the database at `url` and return a ready store."""
    engines = db.make_engines(url)
    try:
        await db.migrate(engines)
    except SQLAlchemyError as e:
        await engines.dispose()
        raise StoreError(f"could not open the database: {brief(e)}") from e
    return SqlStore(engines, secret_key)
