"""Shard leases and replica heartbeats on database time, with a fencing epoch per shard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from enode_scheduler.records import ReplicaRecord, ShardLease
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import replicas_table, shard_leases_table

_leases = shard_leases_table
_replicas = replicas_table
_BATCH_ROWS = 500


class SqlShardStore(Repository):
    """Every decision compares against the database's clock, never this process's.

    `claim` runs in one transaction that locks the shard rows in shard order (FOR UPDATE on
    PostgreSQL; SQLite has one writer anyway), so concurrent claims are serialised and a shard is
    never given to two holders. Releasing a shard clears its holder but keeps its epoch, so its
    next holder still gets a higher one.
    """

    async def heartbeat(self, holder: str, *, ttl_s: float, shards_owned: int, cars: int) -> None:
        async with self._tx() as conn:
            now = await self._db_now(conn)
            values = {
                "holder": holder,
                "started_at": now,
                "heartbeat_at": now,
                "expires_at": now + timedelta(seconds=ttl_s),
                "shards_owned": shards_owned,
                "cars": cars,
            }
            # started_at stays the first heartbeat's, unless the holder had left (a restart).
            await conn.execute(
                update(_replicas)
                .where(_replicas.c.holder == holder, _replicas.c.expires_at <= now)
                .values(started_at=now)
            )
            stmt = self._insert(_replicas).values(**values)
            kept = ("heartbeat_at", "expires_at", "shards_owned", "cars")
            set_: dict[str, Any] = {name: stmt.excluded[name] for name in kept}
            await conn.execute(
                stmt.on_conflict_do_update(index_elements=[_replicas.c.holder], set_=set_)
            )

    async def replicas(self, *, live_only: bool = True) -> list[ReplicaRecord]:
        async with self._tx() as conn:
            now = await self._db_now(conn)
            query = select(_replicas).order_by(_replicas.c.holder)
            if live_only:
                query = query.where(_replicas.c.expires_at > now)
            rows = (await conn.execute(query)).all()
        return [
            ReplicaRecord(
                holder=row.holder,
                started_at=row.started_at,
                heartbeat_at=row.heartbeat_at,
                expires_at=row.expires_at,
                shards_owned=row.shards_owned,
                cars=row.cars,
            )
            for row in rows
        ]

    async def claim(
        self, holder: str, *, wanted: int, total: int, ttl_s: float
    ) -> list[ShardLease]:
        async with self._tx() as conn:
            now = await self._db_now(conn)
            expires_at = now + timedelta(seconds=ttl_s)
            rows = await self._lock_rows(conn, total, now)
            mine = [r.shard for r in rows if r.holder == holder and r.expires_at > now]
            keep, surplus = mine[:wanted], mine[wanted:]
            takeable = [
                r for r in rows if r.shard not in mine and (r.holder is None or r.expires_at <= now)
            ]
            taken = [r.shard for r in takeable[: max(wanted - len(keep), 0)]]
            await self._set(conn, keep, expires_at=expires_at)
            await self._set(conn, surplus, holder=None, expires_at=now)
            await self._set(
                conn, taken, holder=holder, epoch=_leases.c.epoch + 1, expires_at=expires_at
            )
            result = await conn.execute(
                select(_leases)
                .where(_leases.c.holder == holder, _leases.c.shard.in_(keep + taken))
                .order_by(_leases.c.shard)
            )
            return [_lease(row) for row in result.all()]

    async def release(self, holder: str, shards: Sequence[int] | None = None) -> None:
        async with self._tx() as conn:
            now = await self._db_now(conn)
            stmt = update(_leases).where(_leases.c.holder == holder)
            if shards is not None:
                stmt = stmt.where(_leases.c.shard.in_(list(shards)))
            await conn.execute(stmt.values(holder=None, expires_at=now))
            if shards is None:
                await conn.execute(
                    update(_replicas)
                    .where(_replicas.c.holder == holder, _replicas.c.expires_at > now)
                    .values(expires_at=now, shards_owned=0)
                )

    async def leases(self) -> list[ShardLease]:
        async with self._tx() as conn:
            rows = (await conn.execute(select(_leases).order_by(_leases.c.shard))).all()
        return [_lease(row) for row in rows]

    async def _lock_rows(self, conn: AsyncConnection, total: int, now: datetime) -> list[Any]:
        """Shards 0..total-1, locked in shard order; missing rows are created (free) first."""
        query = (
            select(_leases)
            .where(_leases.c.shard < total)
            .order_by(_leases.c.shard)
            .with_for_update()
        )
        rows = (await conn.execute(query)).all()
        if len(rows) == total:
            return list(rows)
        present = {row.shard for row in rows}
        missing = [
            {"shard": s, "holder": None, "epoch": 0, "expires_at": now}
            for s in range(total)
            if s not in present
        ]
        # A concurrent first claim may insert the same rows: its insert wins, ours does nothing.
        for batch in chunks(missing, _BATCH_ROWS):
            await conn.execute(
                self._insert(_leases)
                .values(batch)
                .on_conflict_do_nothing(index_elements=[_leases.c.shard])
            )
        return list((await conn.execute(query)).all())

    async def _set(self, conn: AsyncConnection, shards: list[int], **values: Any) -> None:
        if shards:
            await conn.execute(update(_leases).where(_leases.c.shard.in_(shards)).values(**values))


def _lease(row: Any) -> ShardLease:
    return ShardLease(
        shard=row.shard, holder=row.holder, epoch=row.epoch, expires_at=row.expires_at
    )
