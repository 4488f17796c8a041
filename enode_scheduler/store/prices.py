"""The price slot cache per bidding zone, and the carbon-intensity cache per region.

Both are time series keyed by (zone, start) with a few value columns; `_SlotCache` holds the
upsert (compare first, so the changed count is exact on every backend) and the range read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, and_, select

from enode_scheduler.planner.models import IntensitySlot, Slot
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import co2_slots_table, price_slots_table

price_slots = price_slots_table
_BATCH_ROWS = 2000
T = TypeVar("T", Slot, IntensitySlot)


class _SlotCache(Repository, Generic[T]):
    _table: Table
    _values: tuple[str, ...]
    _make: Callable[..., T]

    async def _upsert(self, zone: str, slots: Sequence[T]) -> int:
        if not slots:
            return 0
        incoming = {slot.start: slot for slot in slots}
        lo, hi = min(incoming), max(s.end for s in incoming.values())
        table = self._table
        async with self._tx() as conn:
            stored = {s.start: s for s in await self._read(conn, zone, start=lo, end=hi)}
            changed = [s for start, s in incoming.items() if stored.get(start) != s]
            if changed:
                stmt = self._insert(table)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[table.c.zone, table.c.start],
                    set_={name: stmt.excluded[name] for name in ("end", *self._values)},
                )
                for batch in chunks([self._row(zone, s) for s in changed], _BATCH_ROWS):
                    await conn.execute(stmt, batch)
        return len(changed)

    async def _get(self, zone: str, *, start: datetime, end: datetime) -> list[T]:
        async with self._tx() as conn:
            return await self._read(conn, zone, start=start, end=end)

    async def _read(self, conn: Any, zone: str, *, start: datetime, end: datetime) -> list[T]:
        table: Table = self._table
        c: Any = table.c
        columns = [c.start, c.end, *(c[name] for name in self._values)]
        query = (
            select(*columns)
            .where(and_(c.zone == zone, c.start < end, c.end > start))
            .order_by(c.start)
        )
        rows = (await conn.execute(query)).all()
        return [self._make(*row) for row in rows]

    def _row(self, zone: str, slot: T) -> dict[str, Any]:
        row = {"zone": zone, "start": slot.start, "end": slot.end}
        row.update({name: getattr(slot, name) for name in self._values})
        return row


class SqlPriceSlotStore(_SlotCache[Slot]):
    _table = price_slots_table
    _values = ("price_per_kwh", "provisional")
    _make = Slot

    async def upsert_slots(self, zone: str, slots: Sequence[Slot]) -> int:
        return await self._upsert(zone, slots)

    async def get_slots(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        return await self._get(zone, start=start, end=end)


class SqlIntensitySlotStore(_SlotCache[IntensitySlot]):
    _table = co2_slots_table
    _values = ("g_co2_per_kwh",)
    _make = IntensitySlot

    async def upsert_intensity(self, zone: str, slots: Sequence[IntensitySlot]) -> int:
        return await self._upsert(zone, slots)

    async def get_intensity(
        self, zone: str, *, start: datetime, end: datetime
    ) -> list[IntensitySlot]:
        return await self._get(zone, start=start, end=end)
