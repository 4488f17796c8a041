"""OAuth link states in the database, so a link started before a restart, or completed at another
replica, still works; each is used once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from enode_scheduler.store.base import Repository
from enode_scheduler.store.schema import link_states_table

_t = link_states_table


class SqlLinkStateStore(Repository):
    async def put_link_state(self, state: str, *, user_id: str, expires_at: datetime) -> None:
        async with self._tx() as conn:
            await conn.execute(delete(_t).where(_t.c.expires_at <= self._clock.now()))
            await conn.execute(
                _t.insert().values(state=state, user_id=user_id, expires_at=expires_at)
            )

    async def take_link_state(self, state: str) -> tuple[str, datetime] | None:
        # DELETE ... RETURNING: two replicas completing the same callback cannot both use it.
        async with self._tx() as conn:
            row = (
                await conn.execute(
                    delete(_t).where(_t.c.state == state).returning(_t.c.user_id, _t.c.expires_at)
                )
            ).one_or_none()
        return None if row is None else (row.user_id, row.expires_at)
