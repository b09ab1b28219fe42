"""Alert groups: one investigation (conversation) per alert group while it fires.

`alert_groups`: keyed by the alert source and the SHA-256 of the group's dedupe key (an
Alertmanager `groupKey`, a generic sender's `dedupe_key`), the conversation investigating it,
and whether the group is still `open` (its notifications are deduplicated) or `resolved`.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 23:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_groups",
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("group_key_sha256", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_alert_groups_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("source", "group_key_sha256", name=op.f("pk_alert_groups")),
    )


def downgrade() -> None:
    op.drop_table("alert_groups")
