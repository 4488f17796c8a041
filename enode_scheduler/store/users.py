"""Users and their Enode tokens (encrypted at rest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from enode_scheduler.clock import Clock
from enode_scheduler.records import UserRecord, UserTokens
from enode_scheduler.store.base import Repository
from enode_scheduler.store.crypto import TokenCipher
from enode_scheduler.store.schema import (
    overrides_table,
    plans_table,
    schedules_table,
    users_table,
    vehicles_table,
)

users = users_table


class SqlUserStore(Repository):
    """UserStore and TokenStore on one table.

    `upsert_user` writes the time zone (and, for a new user, the relink flag); `linked` is derived
    from whether tokens are stored; `save_tokens` clears `needs_relink`. Tokens and relink marks
    for an unknown user create that user.
    """

    def __init__(self, engine: AsyncEngine, *, clock: Clock, cipher: TokenCipher) -> None:
        super().__init__(engine, clock=clock)
        self._cipher = cipher

    async def upsert_user(self, user: UserRecord) -> UserRecord:
        now = self._clock.now()
        values = {
            "user_id": user.user_id,
            "timezone": user.timezone,
            "needs_relink": user.needs_relink,
            "relink_reason": user.relink_reason,
            "created_at": now,
            "updated_at": now,
        }
        stmt = self._insert(users).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[users.c.user_id],
            set_={"timezone": stmt.excluded.timezone, "updated_at": stmt.excluded.updated_at},
        )
        async with self._tx() as conn:
            await conn.execute(stmt)
            row = (await conn.execute(select(users).where(users.c.user_id == user.user_id))).one()
        return _record(row)

    async def get_user(self, user_id: str) -> UserRecord | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(select(users).where(users.c.user_id == user_id))
            ).one_or_none()
        return None if row is None else _record(row)

    async def list_users(self) -> list[UserRecord]:
        async with self._tx() as conn:
            rows = (await conn.execute(select(users).order_by(users.c.user_id))).all()
        return [_record(row) for row in rows]

    async def delete_user(self, user_id: str) -> bool:
        vehicles, plans = vehicles_table, plans_table
        owned = (
            select(vehicles.c.vehicle_id)
            .where(vehicles.c.user_id == user_id)
            .union(select(plans.c.vehicle_id).where(plans.c.user_id == user_id))
        )
        async with self._tx() as conn:
            # Schedules and overrides are keyed by plan only (a vehicle's or a charger's id);
            # vehicles, chargers and plans go by ON DELETE CASCADE.
            await conn.execute(
                delete(schedules_table).where(schedules_table.c.vehicle_id.in_(owned))
            )
            await conn.execute(
                delete(overrides_table).where(overrides_table.c.vehicle_id.in_(owned))
            )
            result = await conn.execute(delete(users).where(users.c.user_id == user_id))
        return bool(result.rowcount)

    async def get_tokens(self, user_id: str) -> UserTokens | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(select(users).where(users.c.user_id == user_id))
            ).one_or_none()
        if row is None or row.access_token_enc is None or row.token_expires_at is None:
            return None
        refresh = row.refresh_token_enc
        return UserTokens(
            access_token=self._cipher.decrypt(row.access_token_enc),
            refresh_token=None if refresh is None else self._cipher.decrypt(refresh),
            expires_at=row.token_expires_at,
        )

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None:
        refresh = tokens.refresh_token
        await self._write_user_fields(
            user_id,
            access_token_enc=self._cipher.encrypt(tokens.access_token),
            refresh_token_enc=None if refresh is None else self._cipher.encrypt(refresh),
            token_expires_at=tokens.expires_at,
            needs_relink=False,
            relink_reason=None,
        )

    async def mark_needs_relink(self, user_id: str, *, reason: str) -> None:
        await self._write_user_fields(user_id, needs_relink=True, relink_reason=reason)

    async def _write_user_fields(self, user_id: str, **fields: Any) -> None:
        now = self._clock.now()
        async with self._tx() as conn:
            await ensure_user(self, conn, user_id, now=now)
            await conn.execute(
                update(users).where(users.c.user_id == user_id).values(updated_at=now, **fields)
            )


async def ensure_user(
    repo: Repository, conn: AsyncConnection, user_id: str, *, now: datetime
) -> None:
    """Create the user row if it is missing (rows of other tables refer to it)."""
    await ensure_users(repo, conn, [user_id], now=now)


async def ensure_users(
    repo: Repository, conn: AsyncConnection, user_ids: list[str], *, now: datetime
) -> None:
    rows = [
        {
            "user_id": uid,
            "timezone": "UTC",
            "needs_relink": False,
            "created_at": now,
            "updated_at": now,
        }
        for uid in sorted(set(user_ids))
    ]
    if rows:
        stmt = repo._insert(users).on_conflict_do_nothing(index_elements=[users.c.user_id])
        await conn.execute(stmt, rows)


def _record(row: Any) -> UserRecord:
    return UserRecord(
        user_id=row.user_id,
        timezone=row.timezone,
        needs_relink=row.needs_relink,
        relink_reason=row.relink_reason,
        linked=row.access_token_enc is not None,
    )
