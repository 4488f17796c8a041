"""Stand-in in-memory stores until foundation's `enode_scheduler.testing` twins land."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from enode_scheduler.clock import Clock
from enode_scheduler.ports import (
    CommandIntent,
    PlanRecord,
    PlanStatus,
    ScheduleRecord,
    UserRecord,
    VehicleReading,
)


class MemoryUsers:
    def __init__(self) -> None:
        self.rows: dict[str, UserRecord] = {}

    async def upsert_user(self, user: UserRecord) -> UserRecord:
        self.rows[user.user_id] = user
        return user

    async def get_user(self, user_id: str) -> UserRecord | None:
        return self.rows.get(user_id)

    async def list_users(self) -> list[UserRecord]:
        return list(self.rows.values())

    async def delete_user(self, user_id: str) -> bool:
        return self.rows.pop(user_id, None) is not None


class MemoryVehicles:
    def __init__(self) -> None:
        self.rows: dict[str, VehicleReading] = {}

    async def save_readings(self, readings: Sequence[VehicleReading]) -> None:
        for r in readings:
            self.rows[r.vehicle_id] = r

    async def latest_readings(
        self, vehicle_ids: Sequence[str] | None = None
    ) -> dict[str, VehicleReading]:
        ids = self.rows.keys() if vehicle_ids is None else vehicle_ids
        return {v: self.rows[v] for v in ids if v in self.rows}

    async def list_vehicle_ids(self, user_id: str | None = None) -> list[str]:
        return [v for v, r in self.rows.items() if user_id is None or r.user_id == user_id]


class MemoryPlans:
    def __init__(self, clock: Clock) -> None:
        self.rows: dict[str, PlanRecord] = {}
        self.clock = clock
        self.next_id = 1

    async def put_plan(self, plan: PlanRecord) -> PlanRecord:
        now = self.clock.now()
        saved = replace(plan, plan_id=self.next_id, created_at=now, updated_at=now)
        self.next_id += 1
        self.rows[plan.vehicle_id] = saved
        return saved

    async def get_plan(self, vehicle_id: str) -> PlanRecord | None:
        return self.rows.get(vehicle_id)

    async def list_plans(self, *, enabled_only: bool = False) -> list[PlanRecord]:
        return [p for p in self.rows.values() if p.enabled or not enabled_only]

    async def delete_plan(self, vehicle_id: str) -> bool:
        return self.rows.pop(vehicle_id, None) is not None

    async def set_plan_status(
        self, vehicle_id: str, status: PlanStatus, *, reason: str | None = None
    ) -> None:
        self.rows[vehicle_id] = replace(self.rows[vehicle_id], status=status, status_reason=reason)

    async def plans_changed_since(self, since: datetime) -> list[PlanRecord]:
        return [p for p in self.rows.values() if p.updated_at and p.updated_at > since]


class MemorySchedules:
    def __init__(self) -> None:
        self.rows: dict[str, ScheduleRecord] = {}

    async def save_schedule(self, record: ScheduleRecord) -> None:
        self.rows[record.vehicle_id] = record

    async def get_schedule(self, vehicle_id: str) -> ScheduleRecord | None:
        return self.rows.get(vehicle_id)

    async def get_schedules(self, vehicle_ids: Sequence[str]) -> dict[str, ScheduleRecord]:
        return {v: self.rows[v] for v in vehicle_ids if v in self.rows}


class MemoryIntents:
    def __init__(self) -> None:
        self.rows: dict[str, CommandIntent] = {}

    async def create_intent(self, intent: CommandIntent) -> CommandIntent | None:
        if intent.key in self.rows:
            return None
        self.rows[intent.key] = intent
        return intent

    async def in_flight(self, vehicle_ids: Sequence[str]) -> dict[str, CommandIntent]:
        return {}

    async def mark_sent(self, key: str, *, epoch: int, at: datetime) -> None:
        self.rows[key] = replace(self.rows[key], sent_at=at)

    async def mark_verified(self, key: str, *, at: datetime) -> None:
        self.rows[key] = replace(self.rows[key], verified_at=at)

    async def mark_failed(self, key: str, *, error: str, at: datetime) -> None:
        self.rows[key] = replace(self.rows[key], error=error)

    async def history(self, vehicle_id: str, *, since: datetime) -> list[CommandIntent]:
        return [
            i
            for i in self.rows.values()
            if i.vehicle_id == vehicle_id and i.created_at and i.created_at >= since
        ]
