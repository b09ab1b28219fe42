"""Users, API tokens and sessions on SQL: the part of `SqlStore` the API's authentication uses.

`SqlStore` inherits these methods. Tokens and session ids are stored as the SHA-256 the API
computes; the clear values never reach the store, and the hashes are never read back out.
A password change or disabling a user deletes their sessions in the same transaction.
Every user read comes with their scoped grants (`role_grants`), read in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from opsgate.domain.grants import Grant
from opsgate.domain.roles import Role
from opsgate.domain.sign_in import SignIn
from opsgate.errors import Conflict, NotFound
from opsgate.store import tables
from opsgate.store.records import ApiToken, User, UserWithSecret
from opsgate.store.sql_base import SqlBase

U, TK, G = tables.users, tables.api_tokens, tables.role_grants
S, LA = tables.sessions, tables.login_addresses
LAST_USED_GRANULARITY = timedelta(minutes=1)
"""`find_token` refreshes `last_used_at` at most this often."""
IO = tables.instance_options
_USER_COLUMNS = (
    U.c.id,
    U.c.username,
    U.c.role,
    U.c.disabled,
    U.c.created_at,
    U.c.groups,
    U.c.sign_in,
    U.c.subject,
)
_TOKEN_COLUMNS = tuple(c for c in TK.c if c.name != "token_hash")


class UsersStore(SqlBase):
    """Users and tokens; see `opsgate.store.protocol.Store` for the contract."""

    async def create_user(
        self,
        username: str,
        role: Role,
        password_hash: str | None,
        *,
        sign_in: SignIn = "local",
        subject: str | None = None,
        groups: tuple[str, ...] = (),
    ) -> User:
        values = {
            "id": self._ids.new("usr"),
            "username": username,
            "role": role,
            "disabled": False,
            "password_hash": password_hash,
            "created_at": self._now(),
            "groups": list(groups),
            "sign_in": sign_in,
            "subject": subject,
        }
        try:
            await self._write(lambda conn: conn.execute(insert(U).values(values)))
        except Conflict as e:
            raise Conflict(f"user {username!r} already exists") from e
        return User.model_validate(values)

    async def find_external_user(self, sign_in: SignIn, subject: str) -> User | None:
        user = await self._read(
            lambda conn: self._one_user(conn, U.c.sign_in == sign_in, U.c.subject == subject)
        )
        return None if user is None else User.model_validate(user.model_dump())

    async def get_option(self, name: str) -> Any:
        stmt = select(IO.c.value).where(IO.c.name == name)
        return await self._read(lambda conn: conn.execute(stmt).scalar_one_or_none())

    async def set_option(self, name: str, value: Any) -> None:
        now = self._now()

        def work(conn: Connection) -> None:
            upsert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(IO)
            conn.execute(
                upsert.values(name=name, value=value, updated_at=now).on_conflict_do_update(
                    index_elements=[IO.c.name], set_={"value": value, "updated_at": now}
                )
            )

        await self._write(work)

    @staticmethod
    def _grants(conn: Connection, user_ids: list[str]) -> dict[str, tuple[Grant, ...]]:
        """Each user's grants, by user id (users without any are left out)."""
        if not user_ids:
            return {}
        stmt = (
            select(G.c.user_id, G.c.role, G.c.context, G.c.namespace)
            .where(G.c.user_id.in_(user_ids))
            .order_by(G.c.context, G.c.namespace)
        )
        found: dict[str, list[Grant]] = {}
        for row in conn.execute(stmt):
            grant = Grant(role=row.role, context=row.context, namespace=row.namespace or None)
            found.setdefault(row.user_id, []).append(grant)
        return {user_id: tuple(grants) for user_id, grants in found.items()}

    @classmethod
    def _with_grants(cls, conn: Connection, row: Any) -> dict[str, Any]:
        values = dict(row._mapping)
        values["grants"] = cls._grants(conn, [values["id"]]).get(values["id"], ())
        return values

    @classmethod
    def _one_user(cls, conn: Connection, *where: Any) -> UserWithSecret | None:
        row = conn.execute(select(*_USER_COLUMNS, U.c.password_hash).where(*where)).first()
        return None if row is None else UserWithSecret.model_validate(cls._with_grants(conn, row))

    async def get_user(self, user_id: str) -> UserWithSecret:
        user = await self._read(lambda conn: self._one_user(conn, U.c.id == user_id))
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return user

    async def get_user_by_name(self, username: str) -> UserWithSecret:
        user = await self._read(lambda conn: self._one_user(conn, U.c.username == username))
        if user is None:
            raise NotFound(f"no user {username!r}")
        return user

    async def list_users(self) -> list[User]:
        def work(conn: Connection) -> list[User]:
            rows = conn.execute(select(*_USER_COLUMNS).order_by(U.c.username)).all()
            grants = self._grants(conn, [r.id for r in rows])
            return [
                User.model_validate({**r._mapping, "grants": grants.get(r.id, ())}) for r in rows
            ]

        return await self._read(work)

    async def grant_role(self, user_id: str, grant: Grant) -> User:
        values = {
            "role": grant.role,
            "context": grant.context,
            "namespace": grant.namespace or "",
        }

        def work(conn: Connection) -> User | None:
            if self._one_user(conn, U.c.id == user_id) is None:
                return None
            # One grant per scope: granting again at the same scope replaces the role.
            conn.execute(
                delete(G).where(
                    G.c.user_id == user_id,
                    G.c.context == values["context"],
                    G.c.namespace == values["namespace"],
                )
            )
            conn.execute(
                insert(G).values(
                    id=self._ids.new("grt"), user_id=user_id, created_at=self._now(), **values
                )
            )
            return self._public(conn, user_id)

        user = await self._write(work)
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return user

    async def revoke_grant(self, user_id: str, context: str, namespace: str | None) -> User:
        def work(conn: Connection) -> User | None:
            gone = conn.execute(
                delete(G).where(
                    G.c.user_id == user_id,
                    G.c.context == context,
                    G.c.namespace == (namespace or ""),
                )
            )
            return self._public(conn, user_id) if gone.rowcount else None

        user = await self._write(work)
        if user is None:
            where = context if namespace is None else f"{context}/{namespace}"
            raise NotFound(f"user {user_id!r} holds no grant for {where!r}")
        return user

    @classmethod
    def _public(cls, conn: Connection, user_id: str) -> User | None:
        user = cls._one_user(conn, U.c.id == user_id)
        if user is None:
            return None
        return User.model_validate(user.model_dump(exclude={"password_hash"}))

    async def count_users(self) -> int:
        return await self._read(
            lambda conn: int(conn.execute(select(func.count()).select_from(U)).scalar_one())
        )

    async def update_user(
        self,
        user_id: str,
        *,
        role: Role | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
        groups: tuple[str, ...] | None = None,
    ) -> User:
        changes: dict[str, Any] = {}
        if groups is not None:
            changes["groups"] = list(groups)
        if role is not None:
            changes["role"] = role
        if disabled is not None:
            changes["disabled"] = disabled
        if password_hash is not None:
            changes["password_hash"] = password_hash

        def work(conn: Connection) -> UserWithSecret | None:
            if changes:
                conn.execute(update(U).where(U.c.id == user_id).values(changes))
            if password_hash is not None or disabled:
                conn.execute(delete(S).where(S.c.user_id == user_id))
            return self._one_user(conn, U.c.id == user_id)

        user = await self._write(work)
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return User.model_validate(user.model_dump(exclude={"password_hash"}))

    async def create_token(
        self,
        user_id: str,
        name: str,
        token_hash: str,
        prefix: str,
        expires_at: datetime | None,
        *,
        created_by: str | None = None,
    ) -> ApiToken:
        values = {
            "id": self._ids.new("tok"),
            "user_id": user_id,
            "name": name,
            "token_hash": token_hash,
            "prefix": prefix,
            "created_by": created_by,
            "created_at": self._now(),
            "expires_at": expires_at,
            "revoked_at": None,
            "last_used_at": None,
        }

        def work(conn: Connection) -> None:
            if self._one_user(conn, U.c.id == user_id) is None:
                raise NotFound(f"no user {user_id!r}")
            conn.execute(insert(TK).values(values))

        await self._write(work)
        return ApiToken.model_validate(values)

    async def find_token(self, token_hash: str) -> tuple[ApiToken, User] | None:
        now = self._now()
        live = and_(
            TK.c.token_hash == token_hash,
            TK.c.revoked_at.is_(None),
            or_(TK.c.expires_at.is_(None), TK.c.expires_at > now),
            U.c.disabled.is_(False),
        )

        # Every API request authenticates: the token and its user in one statement, then the
        # user's grants (it was four statements).
        stmt = (
            select(*_TOKEN_COLUMNS, *(c.label(f"u_{c.name}") for c in _USER_COLUMNS))
            .select_from(TK.join(U, TK.c.user_id == U.c.id))
            .where(live)
        )

        def lookup(conn: Connection) -> tuple[ApiToken, User] | None:
            row = conn.execute(stmt).first()
            if row is None:
                return None
            values = row._mapping
            token = ApiToken.model_validate({c.name: values[c.name] for c in _TOKEN_COLUMNS})
            user = {c.name: values[f"u_{c.name}"] for c in _USER_COLUMNS}
            user["grants"] = self._grants(conn, [token.user_id]).get(token.user_id, ())
            return token, User.model_validate(user)

        found = await self._read(lookup)
        if found is None:
            return None
        token, user = found
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
            # Every API request authenticates: take the write lock once a minute, not each time.
            await self._write(
                lambda conn: conn.execute(
                    update(TK).where(TK.c.id == token.id).values(last_used_at=now)
                )
            )
            token = token.model_copy(update={"last_used_at": now})
        return token, user

    @staticmethod
    def _token(conn: Connection, token_id: str) -> ApiToken:
        stmt = select(*_TOKEN_COLUMNS).where(TK.c.id == token_id)
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFound(f"no token {token_id!r}")
        return ApiToken.model_validate(dict(row._mapping))

    async def list_tokens(self, user_id: str | None = None) -> list[ApiToken]:
        stmt = select(*_TOKEN_COLUMNS).order_by(TK.c.created_at)
        if user_id is not None:
            stmt = stmt.where(TK.c.user_id == user_id)
        rows = await self._read(lambda conn: conn.execute(stmt).all())
        return [ApiToken.model_validate(dict(r._mapping)) for r in rows]

    async def revoke_token(self, token_id: str) -> ApiToken:
        def work(conn: Connection) -> ApiToken:
            conn.execute(
                update(TK)
                .where(TK.c.id == token_id, TK.c.revoked_at.is_(None))
                .values(revoked_at=self._now())
            )
            return self._token(conn, token_id)

        return await self._write(work)

    async def create_session(
        self, session_hash: str, user_id: str, address: str, expires_at: datetime
    ) -> None:
        now = self._now()
        remembered = {"user_id": user_id, "address": address, "last_login_at": now}

        def work(conn: Connection) -> None:
            # Expired sessions are dead already; each sign-in sweeps them so the table stays small.
            conn.execute(delete(S).where(S.c.expires_at <= now))
            conn.execute(
                insert(S).values(
                    id_hash=session_hash,
                    user_id=user_id,
                    address=address,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            upsert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(LA)
            conn.execute(
                upsert.values(remembered).on_conflict_do_update(
                    index_elements=[LA.c.user_id, LA.c.address], set_={"last_login_at": now}
                )
            )

        await self._write(work)

    async def find_session(self, session_hash: str) -> User | None:
        now = self._now()
        stmt = (
            select(*_USER_COLUMNS)
            .select_from(S.join(U, S.c.user_id == U.c.id))
            .where(S.c.id_hash == session_hash, S.c.expires_at > now, U.c.disabled.is_(False))
        )

        def work(conn: Connection) -> User | None:
            row = conn.execute(stmt).first()
            return None if row is None else User.model_validate(self._with_grants(conn, row))

        return await self._read(work)

    async def end_session(self, session_hash: str) -> None:
        await self._write(lambda conn: conn.execute(delete(S).where(S.c.id_hash == session_hash)))

    async def signed_in_from(self, user_id: str, address: str) -> bool:
        stmt = select(LA.c.user_id).where(LA.c.user_id == user_id, LA.c.address == address)
        return await self._read(lambda conn: conn.execute(stmt).first() is not None)
