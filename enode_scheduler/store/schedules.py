"""The current schedule per vehicle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from enode_scheduler.planner.models import Schedule, Window, WindowReason
from enode_scheduler.records import ScheduleRecord
from enode_scheduler.store.base import Repository, chunks
from enode_scheduler.store.schema import schedules_table

schedules = schedules_table
_BATCH_ROWS = 500


class SqlScheduleStore(Repository):
    async def save_schedules(self, records: Sequence[ScheduleRecord]) -> None:
        # One row per vehicle: ON CONFLICT may not touch a row twice in one statement.
        latest = {r.vehicle_id: schedule_values(r) for r in records}
        if not latest:
            return
        async with self._tx() as conn:
            for batch in chunks(list(latest.values()), _BATCH_ROWS):
                stmt = self._insert(schedules).values(batch)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[schedules.c.vehicle_id],
                    set_={name: stmt.excluded[name] for name in batch[0] if name != "vehicle_id"},
                )
                await conn.execute(stmt)

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None:
        return (await self.get_schedules([vehicle_id])).get(vehicle_id)

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]:
        query = select(schedules).where(schedules.c.vehicle_id.in_(list(vehicle_ids)))
        async with self._tx() as conn:
            rows = (await conn.execute(query)).all()
        return {row.vehicle_id: schedule_record(row) for row in rows}


def schedule_values(record: ScheduleRecord) -> dict[str, Any]:
    s = record.schedule
    return {
        "vehicle_id": record.vehicle_id,
        "feasible": s.feasible,
        "windows": [_window_json(w) for w in s.windows],
        "grid_energy_kwh": s.grid_energy_kwh,
        "expected_cost": s.cost,
        "baseline_cost": s.baseline_cost,
        "co2_kg": s.co2_kg,
        "baseline_co2_kg": s.baseline_co2_kg,
        "starts": s.starts,
        "expected_soc_percent": s.soc_at_deadline_percent,
        "explanation": list(s.explanation),
        "deadline": record.deadline,
        "computed_at": record.computed_at,
    }


def schedule_record(row: Any) -> ScheduleRecord:
    schedule = Schedule(
        feasible=row.feasible,
        windows=tuple(_window(w) for w in row.windows),
        grid_energy_kwh=row.grid_energy_kwh,
        cost=row.expected_cost,
        starts=row.starts,
        soc_at_deadline_percent=row.expected_soc_percent,
        baseline_cost=row.baseline_cost,
        explanation=tuple(row.explanation),
        co2_kg=row.co2_kg or 0.0,
        baseline_co2_kg=row.baseline_co2_kg or 0.0,
    )
    return ScheduleRecord(
        vehicle_id=row.vehicle_id,
        schedule=schedule,
        deadline=row.deadline,
        computed_at=row.computed_at,
    )


def _window_json(window: Window) -> dict[str, Any]:
    return {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "reason": window.reason.value,
        "provisional": window.provisional,
    }


def _window(data: dict[str, Any]) -> Window:
    return Window(
        start=datetime.fromisoformat(data["start"]),
        end=datetime.fromisoformat(data["end"]),
        reason=WindowReason(data["reason"]),
        provisional=bool(data["provisional"]),
    )
