"""Plan outcomes: how each vehicle's latest deadline went (one row per vehicle, the latest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from enode_scheduler.records import OutcomeKind, PlanOutcome
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import plan_outcomes_table

_t = plan_outcomes_table


class SqlOutcomeStore(Repository):
    async def record_outcome(self, outcome: PlanOutcome) -> None:
        values = _values(outcome)
        stmt = self._insert(_t).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_t.c.vehicle_id],
            set_={name: stmt.excluded[name] for name in values if name != "vehicle_id"},
        )
        async with self._tx() as conn:
            await conn.execute(stmt)

    async def get_outcomes(self, vehicle_ids: Sequence[str]) -> dict[str, PlanOutcome]:
        found: dict[str, PlanOutcome] = {}
        async with self._tx() as conn:
            for batch in chunks(list(vehicle_ids), 500):
                rows = (await conn.execute(select(_t).where(_t.c.vehicle_id.in_(batch)))).all()
                found.update((row.vehicle_id, _record(row)) for row in rows)
        return found


def _values(outcome: PlanOutcome) -> dict[str, Any]:
    return {
        "vehicle_id": outcome.vehicle_id,
        "deadline": outcome.deadline,
        "kind": outcome.kind.value,
        "target_soc_percent": outcome.target_soc_percent,
        "soc_percent": outcome.soc_percent,
        "limit_percent": outcome.limit_percent,
        "recorded_at": outcome.recorded_at or outcome.deadline,
    }


def _record(row: Any) -> PlanOutcome:
    return PlanOutcome(
        vehicle_id=row.vehicle_id,
        deadline=row.deadline,
        kind=OutcomeKind(row.kind),
        target_soc_percent=row.target_soc_percent,
        soc_percent=row.soc_percent,
        limit_percent=row.limit_percent,
        recorded_at=row.recorded_at,
    )
