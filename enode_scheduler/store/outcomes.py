"""Plan outcomes: how each vehicle's latest deadline went (one row per vehicle, the latest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from enode_scheduler.records import OutcomeKind, PlanOutcome
from enode_scheduler.store.base import Repository
from enode_scheduler.store.schema import plan_outcomes_table

_t = plan_outcomes_table


class SqlOutcomeStore(Repository):
    async def record_outcome(self, outcome: PlanOutcome) -> None:
        await self._put_row(_t, "vehicle_id", _values(outcome))

    async def get_outcomes(self, vehicle_ids: Sequence[str]) -> dict[str, PlanOutcome]:
        rows = await self._rows_by_key(_t, "vehicle_id", vehicle_ids)
        return {row.vehicle_id: _record(row) for row in rows}


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
