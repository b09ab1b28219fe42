"""The approval policy: each item's requirement, every decision, and saved policy versions.

`approval_items.requirement`: the matched rules and what they require (JSON), fixed when the
request opens so a later policy never loosens it; NULL means the built-in gate (one approval).
`approval_decisions`: every decision given on an item, with the rule ids it counted toward;
an item's own `decided_*` columns keep meaning its final outcome. `policy_versions`: the
policies admins saved in the Command Center; the newest is the active one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approval_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requirement", sa.JSON(), nullable=True))
    op.create_table(
        "approval_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("approval_id", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=80), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=40), nullable=False),
        sa.Column("decided_by_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_via", sa.String(length=20), nullable=True),
        sa.Column("rule_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id", "call_id"],
            ["approval_items.approval_id", "approval_items.call_id"],
            name="fk_approval_decisions_item",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_approval_decisions"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_approval_decisions_approval_id_call_id",
        "approval_decisions",
        ["approval_id", "call_id"],
    )
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("saved_by", sa.String(length=40), nullable=False),
        sa.Column("saved_by_name", sa.String(length=200), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_policy_versions"),
    )
    op.create_index("ix_policy_versions_saved_at", "policy_versions", ["saved_at"])


def downgrade() -> None:
    op.drop_index("ix_policy_versions_saved_at", table_name="policy_versions")
    op.drop_table("policy_versions")
    op.drop_index("ix_approval_decisions_approval_id_call_id", table_name="approval_decisions")
    op.drop_table("approval_decisions")
    with op.batch_alter_table("approval_items", schema=None) as batch_op:
        batch_op.drop_column("requirement")
