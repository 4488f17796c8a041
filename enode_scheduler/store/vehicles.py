"""Vehicles and their latest reading."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select

from enode_scheduler.records import VehicleReading
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import vehicles_table
from enode_scheduler.store.users import ensure_users

vehicles = vehicles_table
_READING_FIELDS = (
    "user_id",
    "vendor",
    "last_seen",
    "is_reachable",
    "soc_percent",
    "is_plugged_in",
    "is_charging",
    "charge_rate_kw",
    "battery_capacity_kwh",
    "charge_limit_percent",
    "charging_reasons",
    "charging_location_id",
    "smart_charging_enabled",
    "position_known",
)
# 15 columns per row keeps a batch well under SQLite's 32766 bound parameters.
_BATCH_ROWS = 1000


class SqlVehicleStore(Repository):
    """A reading older (by `last_seen`) than the stored one does not replace it."""

    async def save_readings(self, readings: Sequence[VehicleReading]) -> None:
        latest: dict[str, VehicleReading] = {}
        for reading in readings:
            latest[reading.vehicle_id] = reading  # the last of duplicates wins
        rows = [_row(r) for r in latest.values()]
        if not rows:
            return
        stmt = self._insert(vehicles)
        stmt = stmt.on_conflict_do_update(
            index_elements=[vehicles.c.vehicle_id],
            set_={name: stmt.excluded[name] for name in _READING_FIELDS},
            where=or_(
                vehicles.c.last_seen.is_(None),
                stmt.excluded.last_seen.is_(None),
                stmt.excluded.last_seen >= vehicles.c.last_seen,
            ),
        )
        async with self._tx() as conn:
            await ensure_users(self, conn, [r["user_id"] for r in rows], now=self._clock.now())
            for batch in chunks(rows, _BATCH_ROWS):
                await conn.execute(stmt, batch)

    async def latest_readings(
        self, vehicle_ids: Sequence[str] | None = None
    ) -> dict[str, VehicleReading]:
        query = select(vehicles)
        if vehicle_ids is not None:
            query = query.where(vehicles.c.vehicle_id.in_(list(vehicle_ids)))
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return {row.vehicle_id: _reading(row) for row in rows}

    async def list_vehicle_ids(self, user_id: str | None = None) -> list[str]:
        query = select(vehicles.c.vehicle_id).order_by(vehicles.c.vehicle_id)
        if user_id is not None:
            query = query.where(vehicles.c.user_id == user_id)
        async with self._tx() as conn:
            return list((await conn.execute(query)).scalars())


def _row(reading: VehicleReading) -> dict[str, Any]:
    row = {name: getattr(reading, name) for name in _READING_FIELDS}
    row["vehicle_id"] = reading.vehicle_id
    row["charging_reasons"] = list(reading.charging_reasons)
    return row


def _reading(row: Any) -> VehicleReading:
    fields = {name: getattr(row, name) for name in _READING_FIELDS}
    fields["charging_reasons"] = tuple(row.charging_reasons or ())
    return VehicleReading(vehicle_id=row.vehicle_id, **fields)
