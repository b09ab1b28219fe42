"""Model turns: each turn's tokens, cost and timing, beside its assistant message.

`model_turns`: one row per model turn (keyed by the message it produced), the model, input
and output tokens, the cost in US dollars (NULL when the model's price is unknown, never 0),
the time to the first output and the turn's duration. Summed per conversation and per user,
model or day for the usage views.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_turns",
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("ttft_ms", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_model_turns_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_model_turns")),
    )
    with op.batch_alter_table("model_turns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_turns_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_model_turns_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_model_turns_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_turns_created_at"))
        batch_op.drop_index(batch_op.f("ix_model_turns_run_id"))
        batch_op.drop_index(batch_op.f("ix_model_turns_conversation_id"))
    op.drop_table("model_turns")
