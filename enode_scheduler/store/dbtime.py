"""The database's clock, for readers of rows stamped on it (leases, heartbeats)."""

from __future__ import annotations

from datetime import datetime

from enode_scheduler.store.base import Repository


class SqlDatabaseTime(Repository):
    """`now()` as the database sees it: a heartbeat's age must not depend on this host's clock."""

    async def now(self) -> datetime:
        async with self._tx() as conn:
            return await self._db_now(conn)
