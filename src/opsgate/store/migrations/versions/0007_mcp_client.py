"""The MCP client program a run came from, and how a decision was given.

`runs.client_name`/`client_version`: the outside MCP client's `clientInfo` from `initialize`
(set by the gateway's direct runs), shown on approval cards. `approval_items.decided_via`:
`elicitation` when the local user confirmed in the MCP client (the lower-assurance mode of
`OPSGATE_MCP_CONFIRM=elicit`); empty for decisions made in opsgate.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("client_version", sa.String(length=50), nullable=True))
    with op.batch_alter_table("approval_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_via", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("approval_items", schema=None) as batch_op:
        batch_op.drop_column("decided_via")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("client_version")
        batch_op.drop_column("client_name")
