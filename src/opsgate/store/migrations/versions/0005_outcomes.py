"""Approval items keep what the approver was shown: the dry run's outcome, the command, and
the cluster the change is bound to.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approval_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "preview_state", sa.String(length=20), nullable=False, server_default="unavailable"
            )
        )
        batch_op.add_column(sa.Column("command", sa.Text(), nullable=True))
    with op.batch_alter_table("tool_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cluster", sa.Text(), nullable=True))
    # A run that a wave-1 engine recorded as `skipped` was refused by the gate.
    op.execute("UPDATE tool_calls SET status = 'refused' WHERE status = 'skipped'")


def downgrade() -> None:
    with op.batch_alter_table("tool_calls", schema=None) as batch_op:
        batch_op.drop_column("cluster")
    with op.batch_alter_table("approval_items", schema=None) as batch_op:
        batch_op.drop_column("command")
        batch_op.drop_column("preview_state")
