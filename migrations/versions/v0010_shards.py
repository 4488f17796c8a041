"""Shard leases and replica heartbeats (replicas share the fleet) replace the leader lease.

Revision ID: 0010_shards
Revises: 0009_rate_gates
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010_shards"
down_revision: str | None = "0009_rate_gates"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # The single leader lease is replaced by the shard leases. Dropping it also fences a replica
    # of an older version still running: it can no longer renew its lease, so it stops sending.
    op.drop_table("leases")
    op.create_table(
        "replicas",
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shards_owned", sa.Integer(), nullable=False),
        sa.Column("cars", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_replicas")),
    )
    op.create_table(
        "shard_leases",
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("shard", name=op.f("pk_shard_leases")),
    )
    op.add_column(
        "command_intents",
        sa.Column("shard", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("command_intents") as batch:
        batch.drop_column("shard")
    op.drop_table("shard_leases")
    op.drop_table("replicas")
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
