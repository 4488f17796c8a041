"""What every repository shares: transactions that translate database errors, upserts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from enode_scheduler.clock import Clock
from enode_scheduler.exceptions import StoreError

# Everything a database can fail with. The drivers raise some errors unwrapped: asyncpg's connect
# gives a bare ConnectionRefusedError (an OSError) while the server restarts, and a pool or
# connect timeout is a TimeoutError. Each must become a StoreError, the one failure the daemon
# handles (backoff, not ready, leadership given up), instead of escaping and killing a task.
DATABASE_ERRORS = (SQLAlchemyError, OSError, TimeoutError)


class Repository:
    """Base of the SQL repositories: one engine, one clock for the timestamps we write."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; database errors leave as StoreError with the cause kept."""
        try:
            async with self._engine.begin() as conn:
                yield conn
        except DATABASE_ERRORS as exc:
            raise StoreError(f"database error: {exc.__class__.__name__}: {exc}") from exc

    async def _db_now(self, conn: AsyncConnection) -> datetime:
        """The database's clock: leases compare against it so replicas' clocks need not agree."""
        if self.dialect == "postgresql":
            value: Any = (await conn.execute(text("SELECT now()"))).scalar_one()
            return value.astimezone(UTC)  # type: ignore[no-any-return]
        value = (
            await conn.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
        ).scalar_one()
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    def _insert(self, table: Table) -> Any:
        """A dialect-specific INSERT with ON CONFLICT support (both backends have it)."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    """Batches small enough for SQLite's bound-parameter limit."""
    return [items[i : i + size] for i in range(0, len(items), size)]
