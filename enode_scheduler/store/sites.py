"""Sites: a power cap over a group of charging locations, which may be different users'."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from enode_scheduler.exceptions import LocationTaken, NotFound
from enode_scheduler.records import (
    SiteLocation,
    SiteRecord,
    check_site,
    check_site_location,
)
from enode_scheduler.store.base import Repository
from enode_scheduler.store.schema import site_locations_table, sites_table, users_table

_s, _l = sites_table, site_locations_table


class SqlSiteStore(Repository):
    """SiteStore on `sites` and `site_locations`.

    The primary key (user_id, location_id) of `site_locations` is what keeps a location in one
    site, even against a concurrent attach; the foreign keys detach the locations of a deleted
    site or user.
    """

    async def put_site(self, name: str, *, max_kw: float) -> tuple[SiteRecord, bool]:
        check_site(name, max_kw)
        now = self._clock.now()
        stmt = self._insert(_s).values(name=name, max_kw=max_kw, created_at=now, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_s.c.name], set_={"max_kw": max_kw, "updated_at": now}
        )
        async with self._tx() as conn:
            existed = await _site_row(conn, name) is not None
            await conn.execute(stmt)
            site = await _load(conn, name)
        assert site is not None
        return site, not existed

    async def get_site(self, name: str) -> SiteRecord | None:
        async with self._tx() as conn:
            return await _load(conn, name)

    async def list_sites(self) -> list[SiteRecord]:
        async with self._tx() as conn:
            sites = (await conn.execute(select(_s).order_by(_s.c.name))).all()
            members = (await conn.execute(select(_l))).all()
        by_site: dict[str, list[Any]] = {}
        for member in members:
            by_site.setdefault(member.site_name, []).append(member)
        return [_record(row, by_site.get(row.name, ())) for row in sites]

    async def delete_site(self, name: str) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(delete(_s).where(_s.c.name == name))
        return bool(result.rowcount)

    async def attach_location(self, name: str, location: SiteLocation) -> SiteRecord:
        check_site_location(location)
        values = {"site_name": name, **_key(location)}
        stmt = self._insert(_l).values(**values).on_conflict_do_nothing()
        async with self._tx() as conn:
            await _require_site(conn, name)
            user = select(users_table.c.user_id).where(users_table.c.user_id == location.user_id)
            if (await conn.execute(user)).one_or_none() is None:
                raise NotFound(f"user {location.user_id!r} is not known")
            await conn.execute(stmt)
            # Whoever holds the location now, this call or an earlier (concurrent) one, wins.
            holder = (await conn.execute(select(_l.c.site_name).where(*_match(location)))).one()
            if holder.site_name != name:
                raise LocationTaken(**_key(location), site=holder.site_name)
            await self._touch(conn, name)
            site = await _load(conn, name)
        assert site is not None
        return site

    async def detach_location(self, name: str, location: SiteLocation) -> bool:
        async with self._tx() as conn:
            await _require_site(conn, name)
            result = await conn.execute(delete(_l).where(_l.c.site_name == name, *_match(location)))
            if result.rowcount:
                await self._touch(conn, name)
        return bool(result.rowcount)

    async def _touch(self, conn: AsyncConnection, name: str) -> None:
        await conn.execute(update(_s).where(_s.c.name == name).values(updated_at=self._clock.now()))


def _key(location: SiteLocation) -> dict[str, str]:
    return {"user_id": location.user_id, "location_id": location.location_id}


def _match(location: SiteLocation) -> tuple[Any, ...]:
    return (_l.c.user_id == location.user_id, _l.c.location_id == location.location_id)


async def _site_row(conn: AsyncConnection, name: str) -> Any:
    return (await conn.execute(select(_s).where(_s.c.name == name))).one_or_none()


async def _require_site(conn: AsyncConnection, name: str) -> None:
    if await _site_row(conn, name) is None:
        raise NotFound(f"site {name!r} does not exist")


async def _load(conn: AsyncConnection, name: str) -> SiteRecord | None:
    row = await _site_row(conn, name)
    if row is None:
        return None
    members = (await conn.execute(select(_l).where(_l.c.site_name == name))).all()
    return _record(row, members)


def _record(row: Any, members: Iterable[Any]) -> SiteRecord:
    return SiteRecord(
        name=row.name,
        max_kw=row.max_kw,
        locations=tuple(sorted(SiteLocation(m.user_id, m.location_id) for m in members)),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
