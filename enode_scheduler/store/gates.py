"""The 429 cooldown gates, one row per (user, vendor), kept across restarts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from enode_scheduler.records import RateGate
from enode_scheduler.store.base import Repository
from enode_scheduler.store.schema import rate_gates_table

_t = rate_gates_table
# A primary key cannot be NULL: '' stands for "any user" / "any vendor".
_ANY = ""
_UPDATED = ("closed_until", "consecutive_429", "updated_at")


class SqlGateStore(Repository):
    async def save_gates(self, gates: Sequence[RateGate]) -> None:
        if not gates:
            return
        now = self._clock.now()
        async with self._tx() as conn:
            for gate in gates:
                key = (gate.user_id or _ANY, gate.vendor or _ANY)
                if gate.closed_until is None:
                    await conn.execute(
                        delete(_t).where(_t.c.user_key == key[0], _t.c.vendor_key == key[1])
                    )
                    continue
                values: dict[str, Any] = {
                    "user_key": key[0],
                    "vendor_key": key[1],
                    "closed_until": gate.closed_until,
                    "consecutive_429": gate.consecutive_429,
                    "updated_at": now,
                }
                stmt = self._insert(_t).values(**values)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[_t.c.user_key, _t.c.vendor_key],
                    set_={n: stmt.excluded[n] for n in _UPDATED},
                )
                await conn.execute(stmt)

    async def load_gates(self) -> list[RateGate]:
        async with self._tx() as conn:
            rows = (await conn.execute(select(_t))).all()
        return [
            RateGate(
                user_id=row.user_key or None,
                vendor=row.vendor_key or None,
                closed_until=row.closed_until,
                consecutive_429=row.consecutive_429,
            )
            for row in rows
        ]
