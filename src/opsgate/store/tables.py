"""The store's tables as SQLAlchemy Core/ORM metadata, shared by `sql.py` and the migrations.

`SqlStore` queries these tables; the Alembic revisions in `store/migrations/versions` create
them (the metadata is the reference, the revisions are the append-only history). Times go
through `UtcDateTime` so they always come back timezone-aware UTC, even from SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        value = value.astimezone(UTC)
        # SQLite compares these as text: naive UTC in one fixed format keeps order right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    groups: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    """The groups the identity provider last said the user is in (empty for local users)."""
    sign_in: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    """`local`, `oidc` or `proxy` (`domain.roles.SignIn`)."""
    subject: Mapped[str | None] = mapped_column(String(255))
    """The identity provider's stable id for an `oidc`/`proxy` user; NULL for local users."""

    __table_args__ = (Index("ix_users_sign_in_subject", "sign_in", "subject", unique=True),)


class RoleGrantRow(Base):
    """A role a user holds in one context, or one namespace of it (`domain.grants`)."""

    __tablename__ = "role_grants"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    context: Mapped[str] = mapped_column(String(253))
    # '' for the whole context: a NULL would escape the unique constraint below.
    namespace: Mapped[str] = mapped_column(String(253))
    created_at: Mapped[datetime]
    __table_args__ = (
        Index("uq_role_grants_scope", "user_id", "context", "namespace", unique=True),
    )


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(40))
    # The signed-in user who made it; NULL when made on the database (`opsgate tokens create`)
    # or before this column existed. Only a token its owner made may decide approvals.
    created_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class SessionRow(Base):
    """A signed-in browser session; the row exists exactly as long as the session is live."""

    __tablename__ = "sessions"
    # SHA-256 of the session id in the (signed) cookie, never the id itself.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    address: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginAddressRow(Base):
    """An address a user signed in from; login throttling never locks them out of it."""

    __tablename__ = "login_addresses"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    address: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_login_at: Mapped[datetime]


class InstanceOptionRow(Base):
    """An instance-wide option an admin sets at run time (e.g. `local_login`)."""

    __tablename__ = "instance_options"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class ConversationRow(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    contexts: Mapped[list[str]]
    namespace: Mapped[str | None] = mapped_column(String(253))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    run_id: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    model_turns: Mapped[int] = mapped_column(Integer, default=0)
    tool_calls: Mapped[int] = mapped_column(Integer, default=0)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The engine driving the run; None while it waits at the gate (any engine may resume)."""
    client_name: Mapped[str | None] = mapped_column(String(100))
    """The outside MCP client program the run came from (`clientInfo.name`), if any."""
    client_version: Mapped[str | None] = mapped_column(String(50))


class EngineRow(Base):
    """A live engine process: its lease lasts while it renews `heartbeat_at`."""

    __tablename__ = "engines"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime] = mapped_column(index=True)


class ToolCallRow(Base):
    __tablename__ = "tool_calls"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(40), index=True)
    tool: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]]
    context: Mapped[str | None] = mapped_column(String(253))
    classification: Mapped[str] = mapped_column(String(20))
    destructive: Mapped[bool] = mapped_column(Boolean)
    call_hash: Mapped[str] = mapped_column(String(64))
    cluster: Mapped[str | None] = mapped_column(Text)
    """Server URL of the cluster a change is bound to."""
    status: Mapped[str] = mapped_column(String(30), index=True)
    approval_id: Mapped[str | None] = mapped_column(String(40))
    acting_as: Mapped[str | None] = mapped_column(Text)
    """Who the call acted as on the cluster under impersonation (NULL: opsgate itself)."""
    output: Mapped[str | None] = mapped_column(Text)
    output_sha256: Mapped[str | None] = mapped_column(String(64))
    output_size: Mapped[int | None] = mapped_column(Integer)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ApprovalRow(Base):
    __tablename__ = "approvals"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(40), index=True)
    proposed_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ApprovalItemRow(Base):
    __tablename__ = "approval_items"
    approval_id: Mapped[str] = mapped_column(ForeignKey("approvals.id"), primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("tool_calls.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    preview: Mapped[str | None] = mapped_column(Text)
    preview_state: Mapped[str] = mapped_column(String(20), server_default="unavailable")
    """What the dry run found: changes, no_change, failed, or unavailable."""
    command: Mapped[str | None] = mapped_column(Text)
    """The exact command the approved call will run, as the approver saw it."""
    status: Mapped[str] = mapped_column(String(20), index=True)
    # Copied from the request so `decide` is one conditional UPDATE on this row.
    expires_at: Mapped[datetime]
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_by_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decided_via: Mapped[str | None] = mapped_column(String(20))
    """`elicitation` when confirmed in the MCP client (lower assurance); None in opsgate."""
    requirement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The policy's `Requirement` fixed when the request opened; None: the built-in gate."""


class ApprovalDecisionRow(Base):
    """Every decision given on an approval item (the item's `decided_*` hold the final one)."""

    __tablename__ = "approval_decisions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["approval_id", "call_id"],
            ["approval_items.approval_id", "approval_items.call_id"],
            name="fk_approval_decisions_item",
        ),
        Index("ix_approval_decisions_approval_id_call_id", "approval_id", "call_id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(String(40))
    call_id: Mapped[str] = mapped_column(String(80))
    decision: Mapped[str] = mapped_column(String(20))
    decided_by: Mapped[str] = mapped_column(String(40))
    decided_by_name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime]
    decided_via: Mapped[str | None] = mapped_column(String(20))
    rule_ids: Mapped[list[str]] = mapped_column(JSON)
    """The policy rules this decision counted toward."""


class PolicyVersionRow(Base):
    """An approval policy an admin saved; the newest is the active one."""

    __tablename__ = "policy_versions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(40))
    saved_by_name: Mapped[str] = mapped_column(String(200))
    saved_at: Mapped[datetime] = mapped_column(index=True)


class StreamEventRow(Base):
    __tablename__ = "stream_events"
    __table_args__ = (
        Index("ix_stream_events_conversation_id_id", "conversation_id", "id"),
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(40))
    run_id: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class JenkinsServerRow(Base):
    __tablename__ = "jenkins_servers"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    user: Mapped[str] = mapped_column(String(200))
    token_encrypted: Mapped[str] = mapped_column(Text)
    verify_tls: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SpentApprovalRow(Base):
    """Approval ids whose token already let one call through a tool server (any process)."""

    __tablename__ = "spent_approvals"
    approval_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    spent_at: Mapped[datetime]


class SnapshotRow(Base):
    """A change's targets as they were just before it ran, and the call restoring them."""

    __tablename__ = "snapshots"
    call_id: Mapped[str] = mapped_column(ForeignKey("tool_calls.id"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(40), index=True)
    run_id: Mapped[str] = mapped_column(String(40))
    tool: Mapped[str] = mapped_column(String(100))
    taken_at: Mapped[datetime]
    sha256: Mapped[str] = mapped_column(String(64))
    objects: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """Redacted: a Secret's keys, never its values."""
    undo: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cannot_undo: Mapped[str | None] = mapped_column(Text)


class AlertGroupRow(Base):
    """An alert group (source and the SHA-256 of its dedupe key) and its investigation."""

    __tablename__ = "alert_groups"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    group_key_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    status: Mapped[str] = mapped_column(String(20))
    """`open` while the group fires (new notifications are deduplicated), then `resolved`."""
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditRow(Base):
    """The append-only log; triggers refuse UPDATE, DELETE and inserts over an existing seq
    (see the migrations). Every column is covered by `hash` (and so by `mac`)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(40), index=True)
    run_id: Mapped[str | None] = mapped_column(String(40), index=True)
    call_id: Mapped[str | None] = mapped_column(String(80))
    # Copied from payload["tool"] for filtering, and hashed like every other column.
    tool: Mapped[str | None] = mapped_column(String(100), index=True)
    # Canonical JSON text, so the hashed bytes come back exactly on every backend.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC of `hash` under the audit key; NULL only for events older than the key.
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditHeadRow(Base):
    """The one signed record of where the audit log ends, updated with every append.

    Triggers (second migration) allow a single row, no DELETE, and an UPDATE only forward
    (seq never decreases, `keyed_from` never changes): no rollback to an older signed head.
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_audit_head_single_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    keyed_from: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))


def _table(row_class: type[Base]) -> Table:
    return cast(Table, row_class.__table__)


users = _table(UserRow)
api_tokens = _table(ApiTokenRow)
role_grants = _table(RoleGrantRow)
sessions = _table(SessionRow)
login_addresses = _table(LoginAddressRow)
instance_options = _table(InstanceOptionRow)
conversations = _table(ConversationRow)
messages = _table(MessageRow)
runs = _table(RunRow)
tool_calls = _table(ToolCallRow)
approvals = _table(ApprovalRow)
approval_items = _table(ApprovalItemRow)
approval_decisions = _table(ApprovalDecisionRow)
policy_versions = _table(PolicyVersionRow)
stream_events = _table(StreamEventRow)
jenkins_servers = _table(JenkinsServerRow)
spent_approvals = _table(SpentApprovalRow)
engines = _table(EngineRow)
snapshots = _table(SnapshotRow)
alert_groups = _table(AlertGroupRow)
audit_log = _table(AuditRow)
audit_head = _table(AuditHeadRow)
