"""Plan outcomes: how each vehicle's latest deadline went (met, missed, capped, infeasible).

Revision ID: 0008_plan_outcomes
Revises: 0007_chargers
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_plan_outcomes"
down_revision: str | None = "0007_chargers"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "plan_outcomes",
        sa.Column("vehicle_id", sa.String(length=128), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_soc_percent", sa.Float(), nullable=False),
        sa.Column("soc_percent", sa.Float(), nullable=True),
        sa.Column("limit_percent", sa.Float(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["plans.vehicle_id"],
            name=op.f("fk_plan_outcomes_vehicle_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vehicle_id", name=op.f("pk_plan_outcomes")),
    )


def downgrade() -> None:
    op.drop_table("plan_outcomes")
