"""The groups a user's identity provider reports, kept on the user.

`users.groups`: a JSON list, written at each single sign-on (empty for local users); the
approval policy matches approvers' groups against it, and impersonation passes it to the
cluster as `--as-group`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("groups", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("groups")
