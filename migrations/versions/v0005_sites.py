"""Sites: named groups of charging locations under one power cap (`sites`, `site_locations`).

Revision ID: 0005_sites
Revises: 0004_charging_locations
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_sites"
# 0003 and 0004 are being written on other branches; the chain is set right when they merge.
down_revision: str | None = "0004_charging_locations"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("max_kw", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sites")),
    )
    op.create_table(
        "site_locations",
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("location_id", sa.String(length=128), nullable=False),
        sa.Column("site_name", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_name"],
            ["sites.name"],
            name=op.f("fk_site_locations_site_name_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_site_locations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "location_id", name=op.f("pk_site_locations")),
    )
    op.create_index(
        op.f("ix_site_locations_site_name"), "site_locations", ["site_name"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_site_locations_site_name"), table_name="site_locations")
    op.drop_table("site_locations")
    op.drop_table("sites")
