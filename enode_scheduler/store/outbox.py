"""The notification outbox: at-least-once delivery survives a restart because the event is a row
before it is a message. (event_id, target) is unique, so an event detected again adds nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update

from enode_scheduler.records import EventKind, NotifyEvent, OutboxEntry, OutboxStatus
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import notify_outbox_table

__all__ = ["SqlOutboxStore"]

_t = notify_outbox_table


class SqlOutboxStore(Repository):
    async def enqueue(self, entries: Sequence[OutboxEntry]) -> int:
        if not entries:
            return 0
        now = self._clock.now()
        rows = [_values(e, created_at=now) for e in entries]
        new = 0
        async with self._tx() as conn:
            for batch in chunks(rows, 500):
                stmt = self._insert(_t).values(batch)
                stmt = stmt.on_conflict_do_nothing(index_elements=[_t.c.event_id, _t.c.target])
                result = await conn.execute(stmt)
                new += max(0, result.rowcount or 0)
        return new

    async def due(self, now: datetime, *, limit: int) -> list[OutboxEntry]:
        query = (
            select(_t)
            .where(and_(_t.c.status == OutboxStatus.PENDING.value, _t.c.next_attempt_at <= now))
            .order_by(_t.c.entry_id)
            .limit(limit)
        )
        async with self._tx() as conn:
            return [_entry(r) for r in (await conn.execute(query)).all()]

    async def mark_delivered(self, entry_ids: Sequence[int], *, at: datetime) -> None:
        async with self._tx() as conn:
            for batch in chunks(list(entry_ids), 500):
                await conn.execute(
                    update(_t)
                    .where(_t.c.entry_id.in_(batch))
                    .values(status=OutboxStatus.DELIVERED.value, delivered_at=at)
                )

    async def mark_failed(
        self, entry_id: int, *, error: str, next_attempt_at: datetime, dead: bool = False
    ) -> None:
        status = OutboxStatus.DEAD if dead else OutboxStatus.PENDING
        async with self._tx() as conn:
            await conn.execute(
                update(_t)
                .where(_t.c.entry_id == entry_id)
                .values(
                    attempts=_t.c.attempts + 1,
                    last_error=error[:500],
                    next_attempt_at=next_attempt_at,
                    status=status.value,
                )
            )

    async def defer(self, entry_ids: Sequence[int], *, until: datetime) -> None:
        async with self._tx() as conn:
            for batch in chunks(list(entry_ids), 500):
                await conn.execute(
                    update(_t).where(_t.c.entry_id.in_(batch)).values(next_attempt_at=until)
                )

    async def entries(self, *, limit: int = 100) -> list[OutboxEntry]:
        query = select(_t).order_by(_t.c.entry_id.desc()).limit(limit)
        async with self._tx() as conn:
            return [_entry(r) for r in (await conn.execute(query)).all()]


def _values(entry: OutboxEntry, *, created_at: datetime) -> dict[str, Any]:
    e = entry.event
    return {
        "event_id": e.event_id,
        "target": entry.target,
        "kind": e.kind.value,
        "event_at": e.at,
        "title": e.title,
        "message": e.message,
        "vehicle_id": e.vehicle_id,
        "user_id": e.user_id,
        "status": entry.status.value,
        "attempts": entry.attempts,
        "next_attempt_at": entry.next_attempt_at,
        "delivered_at": entry.delivered_at,
        "last_error": entry.last_error,
        "created_at": created_at,
    }


def _entry(row: Any) -> OutboxEntry:
    event = NotifyEvent(
        event_id=row.event_id,
        kind=EventKind(row.kind),
        at=row.event_at,
        title=row.title,
        message=row.message,
        vehicle_id=row.vehicle_id,
        user_id=row.user_id,
    )
    return OutboxEntry(
        event=event,
        target=row.target,
        next_attempt_at=row.next_attempt_at,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        entry_id=row.entry_id,
    )
