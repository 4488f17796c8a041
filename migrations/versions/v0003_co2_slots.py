"""CO2: carbon-intensity slots per region, a per-plan price per kg, kg CO2 on schedules.

Revision ID: 0003_co2_slots
Revises: 0002_vehicle_overrides
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_co2_slots"
down_revision: str | None = "0002_vehicle_overrides"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "co2_slots",
        sa.Column("slot_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("g_co2_per_kwh", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("slot_id", name=op.f("pk_co2_slots")),
        sa.UniqueConstraint("zone", "start", name="uq_co2_slots_zone_start"),
    )
    # nullable: existing plans follow the [co2] setting, existing schedules predate CO2
    op.add_column("plans", sa.Column("co2_price_per_kg", sa.Float(), nullable=True))
    op.add_column("schedules", sa.Column("co2_kg", sa.Float(), nullable=True))
    op.add_column("schedules", sa.Column("baseline_co2_kg", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedules") as batch:
        batch.drop_column("baseline_co2_kg")
        batch.drop_column("co2_kg")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("co2_price_per_kg")
    op.drop_table("co2_slots")
