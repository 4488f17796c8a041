"""Chargers: a table of chargers (latest reading, energy meter, baseline) and charger plans.

Plans gain `charger_id` (commands go to that charger) and `energy_kwh` (a charger-only goal).
Overrides lose their foreign key to vehicles: a charger-only plan's override is keyed by the
charger's id (deleting a user removes their overrides explicitly instead).

Revision ID: 0007_chargers
Revises: 0006_notify_outbox
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_chargers"
down_revision: str | None = "0006_notify_outbox"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "chargers",
        sa.Column("charger_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=True),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=True),
        sa.Column("is_reachable", sa.Boolean(), nullable=True),
        sa.Column("is_plugged_in", sa.Boolean(), nullable=True),
        sa.Column("is_charging", sa.Boolean(), nullable=True),
        sa.Column("charge_rate_kw", sa.Float(), nullable=True),
        sa.Column("energy_kwh", sa.Float(), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("baseline_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("baseline_kwh", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_chargers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("charger_id", name=op.f("pk_chargers")),
    )
    op.create_index(op.f("ix_chargers_user_id"), "chargers", ["user_id"], unique=False)
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("charger_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("energy_kwh", sa.Float(), nullable=True))
    with op.batch_alter_table("vehicle_overrides") as batch:
        batch.drop_constraint("fk_vehicle_overrides_vehicle_id_vehicles", type_="foreignkey")


def downgrade() -> None:
    # Overrides of chargers (no vehicle row) cannot keep the restored foreign key.
    op.execute(
        "DELETE FROM vehicle_overrides WHERE vehicle_id NOT IN (SELECT vehicle_id FROM vehicles)"
    )
    with op.batch_alter_table("vehicle_overrides") as batch:
        batch.create_foreign_key(
            "fk_vehicle_overrides_vehicle_id_vehicles",
            "vehicles",
            ["vehicle_id"],
            ["vehicle_id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("energy_kwh")
        batch.drop_column("charger_id")
    op.drop_index(op.f("ix_chargers_user_id"), table_name="chargers")
    op.drop_table("chargers")
