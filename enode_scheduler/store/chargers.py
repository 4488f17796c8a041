"""Chargers (wallboxes): their latest reading with our energy meter, and energy baselines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, update

from enode_scheduler.records import ChargerReading, EnergyBaseline
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import chargers_table
from enode_scheduler.store.users import ensure_users

_t = chargers_table
_READING_FIELDS = (
    "user_id",
    "vendor",
    "brand",
    "model",
    "last_seen",
    "is_reachable",
    "is_plugged_in",
    "is_charging",
    "charge_rate_kw",
    "energy_kwh",
)
_BATCH_ROWS = 1000


class SqlChargerStore(Repository):
    """A reading older (by `last_seen`) than the stored one does not replace it."""

    async def save_charger_readings(self, readings: Sequence[ChargerReading]) -> None:
        latest = {r.charger_id: r for r in readings}  # the last of duplicates wins
        rows = [_row(r) for r in latest.values()]
        if not rows:
            return
        stmt = self._insert(_t)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_t.c.charger_id],
            set_={name: stmt.excluded[name] for name in _READING_FIELDS},
            where=or_(
                _t.c.last_seen.is_(None),
                stmt.excluded.last_seen.is_(None),
                stmt.excluded.last_seen >= _t.c.last_seen,
            ),
        )
        async with self._tx() as conn:
            await ensure_users(self, conn, [r["user_id"] for r in rows], now=self._clock.now())
            for batch in chunks(rows, _BATCH_ROWS):
                await conn.execute(stmt, batch)

    async def latest_charger_readings(
        self, charger_ids: Sequence[str] | None = None
    ) -> dict[str, ChargerReading]:
        query = select(_t)
        if charger_ids is not None:
            query = query.where(_t.c.charger_id.in_(list(charger_ids)))
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return {row.charger_id: _reading(row) for row in rows}

    async def list_charger_ids(self, user_id: str | None = None) -> list[str]:
        query = select(_t.c.charger_id).order_by(_t.c.charger_id)
        if user_id is not None:
            query = query.where(_t.c.user_id == user_id)
        async with self._tx() as conn:
            return list((await conn.execute(query)).scalars())

    async def set_energy_baseline(self, baseline: EnergyBaseline) -> None:
        stmt = (
            update(_t)
            .where(_t.c.charger_id == baseline.charger_id)
            .values(baseline_deadline=baseline.deadline, baseline_kwh=baseline.start_kwh)
        )
        async with self._tx() as conn:
            await conn.execute(stmt)

    async def get_energy_baselines(self, charger_ids: Sequence[str]) -> dict[str, EnergyBaseline]:
        found: dict[str, EnergyBaseline] = {}
        async with self._tx() as conn:
            for batch in chunks(list(charger_ids), 500):
                query = select(_t.c.charger_id, _t.c.baseline_deadline, _t.c.baseline_kwh).where(
                    _t.c.charger_id.in_(batch), _t.c.baseline_deadline.is_not(None)
                )
                for row in (await conn.execute(query)).all():
                    found[row.charger_id] = EnergyBaseline(
                        row.charger_id, row.baseline_deadline, row.baseline_kwh or 0.0
                    )
        return found


def _row(reading: ChargerReading) -> dict[str, Any]:
    row = {name: getattr(reading, name) for name in _READING_FIELDS}
    row["charger_id"] = reading.charger_id
    return row


def _reading(row: Any) -> ChargerReading:
    return ChargerReading(
        charger_id=row.charger_id, **{name: getattr(row, name) for name in _READING_FIELDS}
    )
