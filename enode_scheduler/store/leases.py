"""Leader leases on database time, with a fencing epoch."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from enode_scheduler.records import Lease
from enode_scheduler.store.base import Repository
from enode_scheduler.store.schema import leases_table

leases = leases_table


class SqlLeaseStore(Repository):
    """Every decision compares against the database's clock, never this process's, so replicas
    with skewed clocks agree. `release` expires the lease but keeps its epoch, so the next holder
    still gets a higher one. `current` returns only an unexpired lease."""

    async def acquire(self, name: str, *, holder: str, ttl_s: float) -> Lease | None:
        async with self._tx() as conn:
            now = await self._db_now(conn)
            expires_at = now + timedelta(seconds=ttl_s)
            row = (
                await conn.execute(select(leases).where(leases.c.name == name).with_for_update())
            ).one_or_none()
            if row is None:
                return await self._insert_first(conn, name, holder=holder, expires_at=expires_at)
            if row.holder == holder and row.expires_at > now:
                epoch = row.epoch
            elif row.expires_at <= now:
                epoch = row.epoch + 1
            else:
                return None
            await conn.execute(
                update(leases)
                .where(leases.c.name == name)
                .values(holder=holder, epoch=epoch, expires_at=expires_at)
            )
        return Lease(name=name, holder=holder, epoch=epoch, expires_at=expires_at)

    async def release(self, lease: Lease) -> None:
        async with self._tx() as conn:
            now = await self._db_now(conn)
            await conn.execute(
                update(leases)
                .where(
                    leases.c.name == lease.name,
                    leases.c.holder == lease.holder,
                    leases.c.epoch == lease.epoch,
                )
                .values(expires_at=now)
            )

    async def current(self, name: str) -> Lease | None:
        async with self._tx() as conn:
            now = await self._db_now(conn)
            row = (await conn.execute(select(leases).where(leases.c.name == name))).one_or_none()
        if row is None or row.expires_at <= now:
            return None
        return Lease(name=row.name, holder=row.holder, epoch=row.epoch, expires_at=row.expires_at)

    async def _insert_first(
        self, conn: AsyncConnection, name: str, *, holder: str, expires_at: datetime
    ) -> Lease | None:
        stmt = (
            self._insert(leases)
            .values(name=name, holder=holder, epoch=1, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[leases.c.name])
        )
        if not (await conn.execute(stmt)).rowcount:
            return None  # another replica created it in the meantime
        return Lease(name=name, holder=holder, epoch=1, expires_at=expires_at)
