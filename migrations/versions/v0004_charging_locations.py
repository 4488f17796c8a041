"""Charging locations: a plan names where it applies, the daemon records where the car is.

Adds `charging_locations` (a copy of each user's locations at Enode), `plans.location_id` and
`plans.presence`, and `vehicles.position_known`.

Revision ID: 0004_charging_locations
Revises: 0003_co2_slots
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_charging_locations"
down_revision: str | None = "0003_co2_slots"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "charging_locations",
        sa.Column("location_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_charging_locations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("location_id", name=op.f("pk_charging_locations")),
    )
    op.create_index(
        op.f("ix_charging_locations_user_id"), "charging_locations", ["user_id"], unique=False
    )
    # batch_alter_table: SQLite cannot add several columns in one ALTER otherwise.
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("location_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("presence", sa.String(length=24), nullable=True))
    with op.batch_alter_table("vehicles") as batch:
        batch.add_column(sa.Column("position_known", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vehicles") as batch:
        batch.drop_column("position_known")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("presence")
        batch.drop_column("location_id")
    op.drop_index(op.f("ix_charging_locations_user_id"), table_name="charging_locations")
    op.drop_table("charging_locations")
