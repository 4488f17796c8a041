"""Initial schema: users, vehicles, plans, schedules, price slots, command intents, leases.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "command_intents",
        sa.Column("intent_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("vehicle_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("intent_id", name=op.f("pk_command_intents")),
        sa.UniqueConstraint("key", name=op.f("uq_command_intents_key")),
    )
    op.create_index(
        "ix_command_intents_vehicle_status",
        "command_intents",
        ["vehicle_id", "status"],
        unique=False,
    )

    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "price_slots",
        sa.Column("slot_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("price_per_kwh", sa.Float(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("slot_id", name=op.f("pk_price_slots")),
        sa.UniqueConstraint("zone", "start", name="uq_price_slots_zone_start"),
    )
    op.create_table(
        "schedules",
        sa.Column("vehicle_id", sa.String(length=128), nullable=False),
        sa.Column("feasible", sa.Boolean(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("grid_energy_kwh", sa.Float(), nullable=False),
        sa.Column("expected_cost", sa.Float(), nullable=False),
        sa.Column("baseline_cost", sa.Float(), nullable=False),
        sa.Column("starts", sa.Integer(), nullable=False),
        sa.Column("expected_soc_percent", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vehicle_id", name=op.f("pk_schedules")),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("needs_relink", sa.Boolean(), nullable=False),
        sa.Column("relink_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("vehicle_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("target_soc_percent", sa.Float(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=True),
        sa.Column("min_soc_percent", sa.Float(), nullable=False),
        sa.Column("start_penalty", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_plans_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plans")),
        sa.UniqueConstraint("vehicle_id", name=op.f("uq_plans_vehicle_id")),
    )
    op.create_index(op.f("ix_plans_updated_at"), "plans", ["updated_at"], unique=False)
    op.create_index(op.f("ix_plans_user_id"), "plans", ["user_id"], unique=False)

    op.create_table(
        "vehicles",
        sa.Column("vehicle_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=True),
        sa.Column("battery_capacity_kwh", sa.Float(), nullable=True),
        sa.Column("soc_percent", sa.Float(), nullable=True),
        sa.Column("is_reachable", sa.Boolean(), nullable=True),
        sa.Column("is_plugged_in", sa.Boolean(), nullable=True),
        sa.Column("is_charging", sa.Boolean(), nullable=True),
        sa.Column("charge_rate_kw", sa.Float(), nullable=True),
        sa.Column("charge_limit_percent", sa.Float(), nullable=True),
        sa.Column("charging_reasons", sa.JSON(), nullable=False),
        sa.Column("charging_location_id", sa.String(length=128), nullable=True),
        sa.Column("smart_charging_enabled", sa.Boolean(), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_vehicles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vehicle_id", name=op.f("pk_vehicles")),
    )
    op.create_index(op.f("ix_vehicles_user_id"), "vehicles", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_vehicles_user_id"), table_name="vehicles")

    op.drop_table("vehicles")
    op.drop_index(op.f("ix_plans_user_id"), table_name="plans")
    op.drop_index(op.f("ix_plans_updated_at"), table_name="plans")

    op.drop_table("plans")
    op.drop_table("users")
    op.drop_table("schedules")
    op.drop_table("price_slots")
    op.drop_table("leases")
    op.drop_index("ix_command_intents_vehicle_status", table_name="command_intents")

    op.drop_table("command_intents")
