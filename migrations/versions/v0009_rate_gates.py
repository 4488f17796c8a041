"""429 cooldown gates kept across restarts; the token keys' check value; OAuth link states.

Revision ID: 0009_rate_gates
Revises: 0008_plan_outcomes
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_rate_gates"
down_revision: str | None = "0008_plan_outcomes"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "rate_gates",
        sa.Column("user_key", sa.String(length=128), nullable=False),
        sa.Column("vendor_key", sa.String(length=64), nullable=False),
        sa.Column("closed_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consecutive_429", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_key", "vendor_key", name=op.f("pk_rate_gates")),
    )

    op.create_table(
        "token_key_check",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_key_check")),
    )
    op.create_table(
        "link_states",
        sa.Column("state", sa.String(length=512), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_link_states")),
    )


def downgrade() -> None:
    op.drop_table("link_states")
    op.drop_table("token_key_check")
    op.drop_table("rate_gates")
