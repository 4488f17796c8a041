"""The price slot cache, per bidding zone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from enode_scheduler.planner.models import Slot
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import price_slots_table

price_slots = price_slots_table
_BATCH_ROWS = 2000


class SqlPriceSlotStore(Repository):
    async def upsert_slots(self, zone: str, slots: Sequence[Slot]) -> int:
        if not slots:
            return 0
        incoming = {slot.start: slot for slot in slots}
        lo, hi = min(incoming), max(s.end for s in incoming.values())
        async with self._tx() as conn:
            # Compare with what is stored first, so the count is exact on every backend.
            stored = {s.start: s for s in await self._read(conn, zone, start=lo, end=hi)}
            changed = [s for start, s in incoming.items() if stored.get(start) != s]
            if changed:
                stmt = self._insert(price_slots)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[price_slots.c.zone, price_slots.c.start],
                    set_={
                        name: stmt.excluded[name]
                        for name in ("end", "price_per_kwh", "provisional")
                    },
                )
                for batch in chunks([_row(zone, s) for s in changed], _BATCH_ROWS):
                    await conn.execute(stmt, batch)
        return len(changed)

    async def get_slots(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        async with self._tx() as conn:
            return await self._read(conn, zone, start=start, end=end)

    async def _read(self, conn: Any, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        c = price_slots.c
        query = (
            select(c.start, c.end, c.price_per_kwh, c.provisional)
            .where(and_(c.zone == zone, c.start < end, c.end > start))
            .order_by(c.start)
        )
        rows = (await conn.execute(query)).all()
        return [Slot(r.start, r.end, r.price_per_kwh, r.provisional) for r in rows]


def _row(zone: str, slot: Slot) -> dict[str, Any]:
    return {
        "zone": zone,
        "start": slot.start,
        "end": slot.end,
        "price_per_kwh": slot.price_per_kwh,
        "provisional": slot.provisional,
    }
