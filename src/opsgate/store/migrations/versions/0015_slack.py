"""Slack approvals: which opsgate user a Slack user is, and the interaction requests seen.

`slack_links`: an admin's explicit link from an opsgate user to a Slack user id (one each
way). `slack_requests`: the signature of every interaction request accepted, so a replayed
request (same signature) is refused within Slack's five-minute window. `slack_messages`: the
message posted for each approval request (inserted before posting, so one replica posts it).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_links",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("slack_user_id", sa.String(length=40), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_slack_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_slack_links")),
    )
    op.create_index(
        op.f("uq_slack_links_slack_user_id"), "slack_links", ["slack_user_id"], unique=True
    )
    op.create_table(
        "slack_requests",
        sa.Column("signature", sa.String(length=80), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_slack_requests")),
    )
    op.create_index(op.f("ix_slack_requests_seen_at"), "slack_requests", ["seen_at"])
    op.create_table(
        "slack_messages",
        sa.Column("approval_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("ts", sa.String(length=40), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("approval_id", name=op.f("pk_slack_messages")),
    )


def downgrade() -> None:
    op.drop_table("slack_messages")
    op.drop_table("slack_requests")
    op.drop_table("slack_links")
