"""Audit integrity: a keyed chain (`mac`), a signed head record, no replace paths.

Adds `audit_log.mac` (HMAC of each event's hash under the audit key), the one-row
`audit_head` table, and triggers that refuse an INSERT over
an existing seq (SQLite's `INSERT OR REPLACE` deletes without firing DELETE triggers) and any
change to the head but moving it forward (its signature, which only the key's holder can make,
says where; the triggers stop it being put back to an older signed head).

The head is written here, signed with the audit key that `open_store` passes in
`config.attributes["audit_key"]`: `keyed_from` is the first seq appended from now on, so the
events already in the table (plain SHA-256 chain) are known to predate the key, and no one
without the key can later claim that more of them do.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from opsgate.domain import audit
from opsgate.errors import ConfigError

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    config = op.get_context().config
    key = None if config is None else config.attributes.get("audit_key")
    if not isinstance(key, bytes):
        raise ConfigError("migration 0002 signs the audit head: open the store with audit_key")
    op.add_column("audit_log", sa.Column("mac", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("keyed_from", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    last = (
        op.get_bind()
        .execute(sa.text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"))
        .first()
    )
    seq, last_hash = (0, audit.GENESIS_HASH) if last is None else (int(last[0]), str(last[1]))
    head = audit.signed_head(key, seq=seq, hash=last_hash, keyed_from=seq + 1)
    op.get_bind().execute(
        sa.text(
            "INSERT INTO audit_head (id, keyed_from, seq, hash, signature) "
            "VALUES (1, :keyed_from, :seq, :hash, :signature)"
        ),
        head.model_dump(),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()


def _sqlite_guards() -> None:
    op.execute(
        "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
        "WHEN EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq) "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_head_one_row BEFORE INSERT ON audit_head "
        "WHEN EXISTS (SELECT 1 FROM audit_head) "
        "BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head "
        "BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_head_only_forward BEFORE UPDATE ON audit_head "
        "WHEN NEW.id IS NOT OLD.id OR NEW.keyed_from IS NOT OLD.keyed_from "
        "OR NEW.seq < OLD.seq "
        "BEGIN SELECT RAISE(ABORT, 'audit_head only moves forward'); END"
    )


def _postgres_guards() -> None:
    # INSERT ... ON CONFLICT DO UPDATE on audit_log already meets the UPDATE trigger of 0001.
    op.execute(
        "CREATE FUNCTION opsgate_audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'INSERT' AND NOT EXISTS (SELECT 1 FROM audit_head) THEN RETURN NEW; END IF; "
        "IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.keyed_from = OLD.keyed_from "
        "AND NEW.seq >= OLD.seq THEN RETURN NEW; END IF; "
        "RAISE EXCEPTION 'audit_head only moves forward'; "
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_head_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_head "
        "FOR EACH ROW EXECUTE FUNCTION opsgate_audit_head_guard()"
    )
    op.execute(
        "CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head "
        "FOR EACH STATEMENT EXECUTE FUNCTION opsgate_audit_head_guard()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_head_no_truncate ON audit_head")
        op.execute("DROP TRIGGER audit_head_guard ON audit_head")
        op.execute("DROP FUNCTION opsgate_audit_head_guard()")
    else:
        for trigger in (
            "audit_head_only_forward",
            "audit_head_no_delete",
            "audit_head_one_row",
            "audit_log_no_replace",
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("audit_head")
    op.drop_column("audit_log", "mac")
