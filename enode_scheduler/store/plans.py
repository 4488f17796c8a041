"""Charge plans, one per vehicle."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from enode_scheduler.records import PlanRecord, PlanStatus, Presence
from enode_scheduler.store.base import Repository
from enode_scheduler.store.schema import plans_table
from enode_scheduler.store.users import ensure_user

plans = plans_table


class SqlPlanStore(Repository):
    """`put_plan` keeps `created_at` and the plan id of a replaced plan and forgets where the
    daemon last saw the car; status and presence changes do not touch `updated_at` (they are not
    edits, so they do not trigger a replan)."""

    async def put_plan(self, plan: PlanRecord) -> PlanRecord:
        now = self._clock.now()
        values = _values(plan)
        stmt = self._insert(plans).values(**values, created_at=now, updated_at=now, presence=None)
        stmt = stmt.on_conflict_do_update(
            index_elements=[plans.c.vehicle_id],
            set_={
                **{name: stmt.excluded[name] for name in values},
                "updated_at": now,
                "presence": None,
            },
        )
        async with self._tx() as conn:
            await ensure_user(self, conn, plan.user_id, now=now)
            await conn.execute(stmt)
            row = (
                await conn.execute(select(plans).where(plans.c.vehicle_id == plan.vehicle_id))
            ).one()
        return _record(row)

    async def get_plan(self, vehicle_id: str) -> PlanRecord | None:
        async with self._tx() as conn:
            row = (
                await conn.execute(select(plans).where(plans.c.vehicle_id == vehicle_id))
            ).one_or_none()
        return None if row is None else _record(row)

    async def list_plans(self, *, enabled_only: bool = False) -> list[PlanRecord]:
        query = select(plans).order_by(plans.c.vehicle_id)
        if enabled_only:
            query = query.where(plans.c.enabled.is_(True))
        async with self._tx() as conn:
            return [_record(row) for row in (await conn.execute(query)).all()]

    async def delete_plan(self, vehicle_id: str) -> bool:
        async with self._tx() as conn:
            result = await conn.execute(delete(plans).where(plans.c.vehicle_id == vehicle_id))
        return bool(result.rowcount)

    async def set_plan_status(
        self, vehicle_id: str, status: PlanStatus, *, reason: str | None = None
    ) -> None:
        stmt = (
            update(plans)
            .where(plans.c.vehicle_id == vehicle_id)
            .values(status=status.value, status_reason=reason)
        )
        async with self._tx() as conn:
            await conn.execute(stmt)

    async def set_presences(self, presences: Mapping[str, Presence]) -> None:
        if not presences:
            return
        stmt = (
            update(plans)
            .where(plans.c.vehicle_id == bindparam("vid"))
            .values(presence=bindparam("seen"))
        )
        rows = [{"vid": vid, "seen": p.value} for vid, p in presences.items()]
        async with self._tx() as conn:
            await conn.execute(stmt, rows)


def _values(plan: PlanRecord) -> dict[str, Any]:
    return {
        "vehicle_id": plan.vehicle_id,
        "user_id": plan.user_id,
        "target_soc_percent": plan.target_soc_percent,
        "timezone": plan.timezone,
        "deadline": plan.deadline,
        "weekdays": sorted(plan.weekdays),
        "local_time": plan.local_time,
        "min_soc_percent": plan.min_soc_percent,
        "start_penalty": plan.start_penalty,
        "co2_price_per_kg": plan.co2_price_per_kg,
        "enabled": plan.enabled,
        "status": plan.status.value,
        "status_reason": plan.status_reason,
        "location_id": plan.location_id,
    }


def _record(row: Any) -> PlanRecord:
    fields = {f.name: getattr(row, f.name) for f in dataclasses.fields(PlanRecord)}
    fields["weekdays"] = frozenset(row.weekdays or ())
    fields["status"] = PlanStatus(row.status)
    fields["presence"] = Presence(row.presence) if row.presence else None
    return PlanRecord(**fields)
