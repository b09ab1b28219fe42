"""Spent approvals: the approval ids whose token already let a call through a tool server.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spent_approvals",
        sa.Column("approval_id", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name=op.f("pk_spent_approvals")),
    )
    with op.batch_alter_table("spent_approvals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spent_approvals_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spent_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spent_approvals_expires_at"))
    op.drop_table("spent_approvals")
