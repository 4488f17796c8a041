"""Users' charging locations: a copy of Enode's, so plans can name them without a round trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from enode_scheduler.records import ChargingLocation
from enode_scheduler.store.base import Repository
from enode_scheduler.store.schema import charging_locations_table
from enode_scheduler.store.users import ensure_user

_t = charging_locations_table


class SqlLocationStore(Repository):
    async def replace_locations(self, user_id: str, locations: Sequence[ChargingLocation]) -> None:
        now = self._clock.now()
        async with self._tx() as conn:
            await ensure_user(self, conn, user_id, now=now)
            await conn.execute(delete(_t).where(_t.c.user_id == user_id))
            if locations:
                rows = [_values(loc, user_id=user_id) | {"updated_at": now} for loc in locations]
                await conn.execute(self._insert(_t), rows)

    async def put_location(self, location: ChargingLocation) -> None:
        now = self._clock.now()
        values = _values(location, user_id=location.user_id) | {"updated_at": now}
        stmt = self._insert(_t).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_t.c.location_id],
            set_={name: stmt.excluded[name] for name in values if name != "location_id"},
        )
        async with self._tx() as conn:
            await ensure_user(self, conn, location.user_id, now=now)
            await conn.execute(stmt)

    async def delete_location(self, location_id: str) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(delete(_t).where(_t.c.location_id == location_id))
        return bool(result.rowcount)

    async def list_locations(self, user_id: str) -> list[ChargingLocation]:
        query = select(_t).where(_t.c.user_id == user_id).order_by(_t.c.name, _t.c.location_id)
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ChargingLocation(
                location_id=row.location_id,
                user_id=row.user_id,
                name=row.name,
                latitude=row.latitude,
                longitude=row.longitude,
            )
            for row in rows
        ]


def _values(location: ChargingLocation, *, user_id: str) -> dict[str, Any]:
    return {
        "location_id": location.location_id,
        "user_id": user_id,
        "name": location.name,
        "latitude": location.latitude,
        "longitude": location.longitude,
    }
