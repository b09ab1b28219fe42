"""How each user signs in, and the instance-wide options an admin sets in the database.

`users.sign_in`: `local` (a password or API tokens), `oidc` (single sign-on) or `proxy` (an
authenticating proxy's headers); `users.subject`: the identity provider's stable id for the
user (the ID token's `sub`, or the proxy's user header), unique per way of signing in, so
a renamed account at the provider stays the same opsgate user. `instance_options`: named JSON
values an admin changes at run time (today `local_login`, whether passwords are accepted),
kept in the database so every replica and the CLI see the same answer.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sign_in", sa.String(length=10), nullable=False, server_default="local")
        )
        batch_op.add_column(sa.Column("subject", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_users_sign_in_subject", ["sign_in", "subject"], unique=True)
    op.create_table(
        "instance_options",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_instance_options")),
    )


def downgrade() -> None:
    op.drop_table("instance_options")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_sign_in_subject")
        batch_op.drop_column("subject")
        batch_op.drop_column("sign_in")
