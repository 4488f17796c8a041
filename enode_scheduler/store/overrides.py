"""Manual overrides, one per vehicle (`charge_now` / `pause`); removed with their vehicle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from enode_scheduler.records import OverrideKind, OverrideRecord
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import OverrideRow, overrides_table

__all__ = ["OverrideRow", "SqlOverrideStore", "overrides_table"]


_t = overrides_table


class SqlOverrideStore(Repository):
    async def put_override(self, record: OverrideRecord) -> None:
        values = _values(record)
        stmt = self._insert(_t).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_t.c.vehicle_id],
            set_={name: stmt.excluded[name] for name in values if name != "vehicle_id"},
        )
        async with self._tx() as conn:
            await conn.execute(stmt)

    async def get_override(self, vehicle_id: str) -> OverrideRecord | None:
        return (await self.get_overrides([vehicle_id])).get(vehicle_id)

    async def clear_override(self, vehicle_id: str) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(delete(_t).where(_t.c.vehicle_id == vehicle_id))
        return bool(result.rowcount)

    async def get_overrides(self, vehicle_ids: Sequence[str]) -> dict[str, OverrideRecord]:
        found: dict[str, OverrideRecord] = {}
        async with self._tx() as conn:
            for batch in chunks(list(vehicle_ids), 500):
                rows = (await conn.execute(select(_t).where(_t.c.vehicle_id.in_(batch)))).all()
                found.update((row.vehicle_id, _record(row)) for row in rows)
        return found


def _values(record: OverrideRecord) -> dict[str, Any]:
    return {
        "vehicle_id": record.vehicle_id,
        "kind": record.kind.value,
        "until": record.until,
        "until_soc_percent": record.until_soc_percent,
        "created_at": record.created_at,
    }


def _record(row: Any) -> OverrideRecord:
    return OverrideRecord(
        vehicle_id=row.vehicle_id,
        kind=OverrideKind(row.kind),
        created_at=row.created_at,
        until=row.until,
        until_soc_percent=row.until_soc_percent,
    )
