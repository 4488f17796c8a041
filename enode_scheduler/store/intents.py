"""Command intents, fenced by the epochs of their shards' leases."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from enode_scheduler.exceptions import StaleEpoch, StoreError
from enode_scheduler.records import ChargeAction, CommandIntent, IntentStatus
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import command_intents_table, shard_leases_table

intents = command_intents_table
shard_leases = shard_leases_table
_IN_FLIGHT = (IntentStatus.PENDING.value, IntentStatus.SENT.value)
_BATCH_ROWS = 500


class SqlCommandIntentStore(Repository):
    """`record_sends` is fenced per shard: every intent's epoch must equal its shard's current
    epoch with a holder (or be 0 while the shard has no row, i.e. no claim ever ran), checked in
    the same transaction as the INSERT. One stale intent refuses the whole batch: nothing is
    written, and StaleEpoch names the stale shards so the caller drops just those."""

    async def in_flight(self, vehicle_ids: Sequence[str]) -> dict[str, CommandIntent]:
        query = (
            select(intents)
            .where(intents.c.vehicle_id.in_(list(vehicle_ids)), intents.c.status.in_(_IN_FLIGHT))
            .order_by(intents.c.intent_id)
        )
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return {row.vehicle_id: _intent(row) for row in rows}  # the newest wins

    async def record_sends(
        self, sends: Sequence[CommandIntent], *, at: datetime
    ) -> list[CommandIntent]:
        rows = [
            {
                **_values(intent),
                "status": IntentStatus.SENT.value,
                "sent_at": at,
                "attempts": 1,
                "created_at": intent.created_at or at,
            }
            for intent in sends
        ]
        if not rows:
            return []
        shards = sorted({intent.shard for intent in sends})
        fence = (
            select(shard_leases.c.shard, shard_leases.c.holder, shard_leases.c.epoch)
            .where(shard_leases.c.shard.in_(shards))
            .order_by(shard_leases.c.shard)
        )
        if self.dialect == "postgresql":
            # A takeover updates these rows: it waits for these intents, then sees them in flight.
            fence = fence.with_for_update(read=True)
        written: list[CommandIntent] = []
        async with self._tx() as conn:
            current = {row.shard: row for row in (await conn.execute(fence)).all()}
            stale = sorted({i.shard for i in sends if not _fenced(i, current.get(i.shard))})
            if stale:
                raise StaleEpoch(
                    f"the epochs of shards {stale} are no longer current; nothing sent",
                    shards=tuple(stale),
                )
            for batch in chunks(rows, _BATCH_ROWS):
                stmt = (
                    self._insert(intents)
                    .values(batch)
                    .on_conflict_do_nothing(index_elements=[intents.c.key])
                    .returning(*intents.c)
                )
                written.extend(_intent(row) for row in (await conn.execute(stmt)).all())
        return written

    async def record_outcomes(
        self, verified: Sequence[str], failed: Mapping[str, str], *, at: datetime
    ) -> None:
        by_error: dict[str, list[str]] = defaultdict(list)
        for key, error in failed.items():
            by_error[error].append(key)
        groups: list[tuple[IntentStatus, str | None, list[str]]]
        groups = [(IntentStatus.VERIFIED, None, list(verified))]
        groups += [(IntentStatus.FAILED, why, keys) for why, keys in by_error.items()]
        async with self._tx() as conn:
            for status, reason, keys in groups:
                for batch in chunks(keys, _BATCH_ROWS):
                    await conn.execute(
                        update(intents)
                        .where(intents.c.key.in_(batch))
                        .values(status=status.value, verified_at=at, error=reason)
                    )

    async def mark_failed(self, key: str, *, error: str, at: datetime) -> None:
        stmt = (
            update(intents)
            .where(intents.c.key == key)
            .values(status=IntentStatus.FAILED.value, verified_at=at, error=error)
        )
        async with self._tx() as conn:
            result = await conn.execute(stmt)
        if not result.rowcount:
            raise StoreError(f"no command intent with key {key!r}")

    async def history(self, vehicle_id: str, *, since: datetime) -> list[CommandIntent]:
        query = (
            select(intents)
            .where(intents.c.vehicle_id == vehicle_id, intents.c.created_at >= since)
            .order_by(intents.c.created_at, intents.c.intent_id)
        )
        async with self._tx() as conn:
            return [_intent(row) for row in (await conn.execute(query)).all()]


def _fenced(intent: CommandIntent, lease: Any) -> bool:
    if lease is None:
        return intent.epoch == 0
    return lease.holder is not None and intent.epoch == lease.epoch


def _values(intent: CommandIntent) -> dict[str, Any]:
    values = dataclasses.asdict(intent)
    values.pop("intent_id")
    values["action"] = intent.action.value
    values["status"] = intent.status.value
    return values


def _intent(row: Any) -> CommandIntent:
    fields = {f.name: getattr(row, f.name) for f in dataclasses.fields(CommandIntent)}
    fields["action"] = ChargeAction(row.action)
    fields["status"] = IntentStatus(row.status)
    return CommandIntent(**fields)
