"""Manual overrides, one per vehicle (`charge_now` / `pause`); removed with their vehicle."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete

from enode_scheduler.records import OverrideKind, OverrideRecord
from enode_scheduler.store.base import Repository
from enode_scheduler.store.schema import OverrideRow, overrides_table

__all__ = ["OverrideRow", "SqlOverrideStore", "overrides_table"]


_t = overrides_table


class SqlOverrideStore(Repository):
    async def put_override(self, record: OverrideRecord) -> None:
        await self._put_row(_t, "vehicle_id", _values(record))

    async def get_override(self, vehicle_id: str) -> OverrideRecord | None:
        return (await self.get_overrides([vehicle_id])).get(vehicle_id)

    async def clear_override(self, vehicle_id: str) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(delete(_t).where(_t.c.vehicle_id == vehicle_id))
        return bool(result.rowcount)

    async def get_overrides(self, vehicle_ids: Sequence[str]) -> dict[str, OverrideRecord]:
        rows = await self._rows_by_key(_t, "vehicle_id", vehicle_ids)
        return {row.vehicle_id: _record(row) for row in rows}


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
