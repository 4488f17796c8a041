"""The database schema (SQLAlchemy 2 declarative). Changes go through an alembic revision."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from enode_scheduler.store.types import UTCDateTime

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), list[Any]: JSON()}  # noqa: RUF012


class UserRow(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Fernet tokens (urlsafe base64 text), never the clear token.
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None]
    needs_relink: Mapped[bool] = mapped_column(Boolean, default=False)
    relink_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class VehicleRow(Base):
    __tablename__ = "vehicles"

    vehicle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    vendor: Mapped[str | None] = mapped_column(String(64))
    battery_capacity_kwh: Mapped[float | None] = mapped_column(Float)
    soc_percent: Mapped[float | None] = mapped_column(Float)
    is_reachable: Mapped[bool | None] = mapped_column(Boolean)
    is_plugged_in: Mapped[bool | None] = mapped_column(Boolean)
    is_charging: Mapped[bool | None] = mapped_column(Boolean)
    charge_rate_kw: Mapped[float | None] = mapped_column(Float)
    charge_limit_percent: Mapped[float | None] = mapped_column(Float)
    charging_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    charging_location_id: Mapped[str | None] = mapped_column(String(128))
    smart_charging_enabled: Mapped[bool | None] = mapped_column(Boolean)
    # Whether the vendor reports a position (the position itself is not kept).
    position_known: Mapped[bool | None] = mapped_column(Boolean)
    last_seen: Mapped[datetime | None]


class ChargerRow(Base):
    """A charger (wallbox): its latest reading, our energy meter, a charger-only plan's baseline."""

    __tablename__ = "chargers"

    charger_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    vendor: Mapped[str | None] = mapped_column(String(64))
    brand: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    is_reachable: Mapped[bool | None] = mapped_column(Boolean)
    is_plugged_in: Mapped[bool | None] = mapped_column(Boolean)
    is_charging: Mapped[bool | None] = mapped_column(Boolean)
    charge_rate_kw: Mapped[float | None] = mapped_column(Float)
    energy_kwh: Mapped[float | None] = mapped_column(Float)
    last_seen: Mapped[datetime | None]
    baseline_deadline: Mapped[datetime | None]
    baseline_kwh: Mapped[float | None] = mapped_column(Float)


class PlanRow(Base):
    __tablename__ = "plans"

    plan_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    target_soc_percent: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[datetime | None]
    # Sorted list of weekday numbers, 0 = Monday; empty for a one-off plan.
    weekdays: Mapped[list[Any]] = mapped_column(JSON, default=list)
    local_time: Mapped[time | None] = mapped_column(Time)
    min_soc_percent: Mapped[float] = mapped_column(Float, default=0.0)
    start_penalty: Mapped[float] = mapped_column(Float, default=0.0)
    # Money per kg CO2 for this plan; NULL: the [co2] setting decides.
    co2_price_per_kg: Mapped[float | None] = mapped_column(Float)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)
    # Commands go to this charger (None: to the vehicle); `energy_kwh` makes it charger-only.
    charger_id: Mapped[str | None] = mapped_column(String(128))
    energy_kwh: Mapped[float | None] = mapped_column(Float)
    # Enode's charging location where the plan applies; NULL: the car is not controlled.
    location_id: Mapped[str | None] = mapped_column(String(128))
    # The daemon's last verdict on where the car is (records.Presence); not an edit.
    presence: Mapped[str | None] = mapped_column(String(24))


class ChargingLocationRow(Base):
    """A copy of a user's charging locations at Enode, refreshed whenever they are listed."""

    __tablename__ = "charging_locations"

    location_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime]


class ScheduleRow(Base):
    __tablename__ = "schedules"

    vehicle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    feasible: Mapped[bool] = mapped_column(Boolean)
    # [{"start", "end", "reason", "provisional"}] with ISO-8601 UTC times.
    windows: Mapped[list[Any]] = mapped_column(JSON)
    grid_energy_kwh: Mapped[float] = mapped_column(Float)
    expected_cost: Mapped[float] = mapped_column(Float)
    baseline_cost: Mapped[float] = mapped_column(Float)
    # NULL for schedules computed before CO2 was tracked.
    co2_kg: Mapped[float | None] = mapped_column(Float)
    baseline_co2_kg: Mapped[float | None] = mapped_column(Float)
    starts: Mapped[int] = mapped_column(Integer)
    expected_soc_percent: Mapped[float] = mapped_column(Float)
    explanation: Mapped[list[Any]] = mapped_column(JSON)
    deadline: Mapped[datetime]
    computed_at: Mapped[datetime]


class PriceSlotRow(Base):
    __tablename__ = "price_slots"
    __table_args__ = (UniqueConstraint("zone", "start", name="uq_price_slots_zone_start"),)

    slot_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    zone: Mapped[str] = mapped_column(String(32))
    start: Mapped[datetime]
    end: Mapped[datetime]
    price_per_kwh: Mapped[float] = mapped_column(Float)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)


class Co2SlotRow(Base):
    """Grid carbon intensity per region (`zone`: the CO2 source's region, e.g. DE or GB-13)."""

    __tablename__ = "co2_slots"
    __table_args__ = (UniqueConstraint("zone", "start", name="uq_co2_slots_zone_start"),)

    slot_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    zone: Mapped[str] = mapped_column(String(32))
    start: Mapped[datetime]
    end: Mapped[datetime]
    g_co2_per_kwh: Mapped[float] = mapped_column(Float)


class CommandIntentRow(Base):
    __tablename__ = "command_intents"
    __table_args__ = (Index("ix_command_intents_vehicle_status", "vehicle_id", "status"),)

    intent_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    vehicle_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    epoch: Mapped[int] = mapped_column(Integer)
    # The shard of `user_id` when written: `epoch` is that shard's fencing epoch.
    shard: Mapped[int] = mapped_column(Integer, server_default="0")
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class ReplicaRow(Base):
    """A running replica's heartbeat (database time), so the others can split the shards."""

    __tablename__ = "replicas"

    holder: Mapped[str] = mapped_column(String(255), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    shards_owned: Mapped[int] = mapped_column(Integer)
    cars: Mapped[int] = mapped_column(Integer)


class ShardLeaseRow(Base):
    """Who may send commands for a shard's users until when; `epoch` fences the commands.

    One row per shard, created by the first claim; a free shard has no holder. The epoch grows
    with every change of holder and is never reset.
    """

    __tablename__ = "shard_leases"

    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str | None] = mapped_column(String(255))
    epoch: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]


class OverrideRow(Base):
    """A manual override (`charge_now` / `pause`) that wins over the plan until it ends."""

    __tablename__ = "vehicle_overrides"

    # A plan's key: a vehicle's id, or a charger's for a charger-only plan (so no foreign key to
    # vehicles); removed with the user by `SqlUserStore.delete_user`.
    vehicle_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    until: Mapped[datetime | None]
    until_soc_percent: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime]


class RateGateRow(Base):
    """A (user, vendor) cooldown gate closed by a 429, kept so a restart does not forget it.

    '' stands for "any" (no user: client calls; no vendor: the user's vendor-wide gate), since a
    primary key column cannot be NULL.
    """

    __tablename__ = "rate_gates"

    user_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    vendor_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    closed_until: Mapped[datetime]
    consecutive_429: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class LinkStateRow(Base):
    """An OAuth link state issued for a user: used once, before it expires, at any replica."""

    __tablename__ = "link_states"

    state: Mapped[str] = mapped_column(String(512), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class TokenKeyCheckRow(Base):
    """A known text encrypted with the token keys: replicas whose keys cannot read it refuse
    to start, instead of failing user by user."""

    __tablename__ = "token_key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class SiteRow(Base):
    """A group of charging locations behind one grid connection, capped at `max_kw`."""

    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    max_kw: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SiteLocationRow(Base):
    """A user's charging location in a site; the key makes a location belong to one site only."""

    __tablename__ = "site_locations"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    site_name: Mapped[str] = mapped_column(ForeignKey("sites.name", ondelete="CASCADE"), index=True)


class NotifyOutboxRow(Base):
    """One notification event for one target, delivered at least once from here."""

    __tablename__ = "notify_outbox"
    __table_args__ = (
        UniqueConstraint("event_id", "target", name="uq_notify_outbox_event_id_target"),
        Index("ix_notify_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    event_at: Mapped[datetime]
    title: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    vehicle_id: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class PlanOutcomeRow(Base):
    """The latest deadline's outcome of a vehicle's plan; removed with the plan."""

    __tablename__ = "plan_outcomes"

    vehicle_id: Mapped[str] = mapped_column(
        ForeignKey("plans.vehicle_id", ondelete="CASCADE"), primary_key=True
    )
    deadline: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    target_soc_percent: Mapped[float] = mapped_column(Float)
    soc_percent: Mapped[float | None] = mapped_column(Float)
    limit_percent: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime]


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# Core tables for the repositories, which work with SQL expressions rather than ORM objects.
users_table = _table(UserRow)
vehicles_table = _table(VehicleRow)
chargers_table = _table(ChargerRow)
plans_table = _table(PlanRow)
schedules_table = _table(ScheduleRow)
price_slots_table = _table(PriceSlotRow)
co2_slots_table = _table(Co2SlotRow)
command_intents_table = _table(CommandIntentRow)
replicas_table = _table(ReplicaRow)
shard_leases_table = _table(ShardLeaseRow)
overrides_table = _table(OverrideRow)
rate_gates_table = _table(RateGateRow)
token_key_check_table = _table(TokenKeyCheckRow)
link_states_table = _table(LinkStateRow)
charging_locations_table = _table(ChargingLocationRow)
sites_table = _table(SiteRow)
site_locations_table = _table(SiteLocationRow)
notify_outbox_table = _table(NotifyOutboxRow)
plan_outcomes_table = _table(PlanOutcomeRow)
