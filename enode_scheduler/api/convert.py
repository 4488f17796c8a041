"""Records from the ports turned into API bodies, and plan bodies into records."""

from __future__ import annotations

from datetime import UTC, datetime

from enode_scheduler.api.models import (
    WEEKDAYS,
    CommandOut,
    LocationOut,
    OverrideOut,
    PlanIn,
    PlanOut,
    RepeatOut,
    ScheduleOut,
    SiteLocationOut,
    SiteOut,
    VehicleOut,
    WindowOut,
)
from enode_scheduler.planner.models import Window, WindowReason
from enode_scheduler.records import (
    ChargingLocation,
    CommandIntent,
    OverrideRecord,
    PlanRecord,
    ScheduleRecord,
    SiteRecord,
    VehicleReading,
)
from enode_scheduler.service.sites import site_note

_WINDOW_TEXT = {
    WindowReason.CHEAPEST: "Among the cheapest slots before the deadline.",
    WindowReason.MIN_SOC: "Charges at once up to the minimum SoC, whatever the price.",
    WindowReason.CANNOT_MAKE_IT: "The target cannot be met in time; charges as much as it can.",
}


def plan_record(
    body: PlanIn, *, vehicle_id: str, user_id: str, location_id: str | None = None
) -> PlanRecord:
    repeat = body.repeat
    return PlanRecord(
        vehicle_id=vehicle_id,
        user_id=user_id,
        target_soc_percent=body.target_soc_percent,
        timezone=body.timezone,
        deadline=body.deadline.astimezone(UTC) if body.deadline else None,
        weekdays=frozenset(WEEKDAYS.index(d) for d in repeat.days) if repeat else frozenset(),
        local_time=repeat.at if repeat else None,
        min_soc_percent=body.min_soc_percent,
        start_penalty=body.start_penalty,
        co2_price_per_kg=body.co2_price_per_kg,
        enabled=body.enabled,
        location_id=location_id,
    )


def plan_out(plan: PlanRecord) -> PlanOut:
    repeat = None
    if plan.local_time is not None:
        days = [WEEKDAYS[i] for i in sorted(plan.weekdays)]
        repeat = RepeatOut(days=days, at=plan.local_time.strftime("%H:%M"))
    return PlanOut(
        plan_id=plan.plan_id,
        vehicle_id=plan.vehicle_id,
        user_id=plan.user_id,
        target_soc_percent=plan.target_soc_percent,
        deadline=plan.deadline,
        repeat=repeat,
        timezone=plan.timezone,
        min_soc_percent=plan.min_soc_percent,
        start_penalty=plan.start_penalty,
        co2_price_per_kg=plan.co2_price_per_kg,
        enabled=plan.enabled,
        location_id=plan.location_id,
        status=plan.shown_status,
        status_reason=plan.status_reason,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def location_out(location: ChargingLocation) -> LocationOut:
    return LocationOut(
        location_id=location.location_id,
        name=location.name,
        latitude=location.latitude,
        longitude=location.longitude,
    )


def vehicle_out(reading: VehicleReading, *, now: datetime) -> VehicleOut:
    age_s = (now - reading.last_seen).total_seconds() if reading.last_seen else None
    return VehicleOut(
        vehicle_id=reading.vehicle_id,
        vendor=reading.vendor,
        soc_percent=reading.soc_percent,
        is_plugged_in=reading.is_plugged_in,
        is_charging=reading.is_charging,
        is_reachable=reading.is_reachable,
        charge_rate_kw=reading.charge_rate_kw,
        battery_capacity_kwh=reading.battery_capacity_kwh,
        charge_limit_percent=reading.charge_limit_percent,
        charging_reasons=list(reading.charging_reasons),
        smart_charging_enabled=reading.smart_charging_enabled,
        charging_location_id=reading.charging_location_id,
        last_seen=reading.last_seen,
        reading_age_s=max(0.0, age_s) if age_s is not None else None,
    )


def _window_out(window: Window) -> WindowOut:
    text = _WINDOW_TEXT.get(window.reason, str(window.reason))
    if window.provisional:
        text += " Prices (or CO2 intensity) for part of it are estimates until published."
    return WindowOut(
        start=window.start,
        end=window.end,
        reason=str(window.reason),
        provisional=window.provisional,
        explanation=text,
    )


def schedule_out(record: ScheduleRecord) -> ScheduleOut:
    s = record.schedule
    return ScheduleOut(
        computed_at=record.computed_at,
        deadline=record.deadline,
        feasible=s.feasible,
        windows=[_window_out(w) for w in s.windows],
        expected_soc_at_deadline_percent=s.soc_at_deadline_percent,
        energy_kwh=s.grid_energy_kwh,
        expected_cost=s.cost,
        cost_if_charged_now=s.baseline_cost,
        saving=s.saving,
        co2_kg=s.co2_kg,
        co2_kg_if_charged_now=s.baseline_co2_kg,
        co2_saving_kg=s.co2_saving_kg,
        starts=s.starts,
        explanation=list(s.explanation),
        site=site_note(s),
    )


def override_out(
    record: OverrideRecord, *, now: datetime, soc_percent: float | None
) -> OverrideOut:
    return OverrideOut(
        vehicle_id=record.vehicle_id,
        action=record.kind,
        until=record.until,
        until_soc_percent=record.until_soc_percent,
        created_at=record.created_at,
        active=not record.ended(now=now, soc_percent=soc_percent),
    )


def command_out(intent: CommandIntent) -> CommandOut:
    return CommandOut(
        key=intent.key,
        action=intent.action.value,
        reason=intent.reason,
        status=intent.status.value,
        attempts=intent.attempts,
        created_at=intent.created_at,
        sent_at=intent.sent_at,
        verified_at=intent.verified_at,
        error=intent.error,
    )


def site_out(site: SiteRecord) -> SiteOut:
    return SiteOut(
        name=site.name,
        max_kw=site.max_kw,
        locations=[
            SiteLocationOut(user_id=x.user_id, location_id=x.location_id) for x in site.locations
        ],
        created_at=site.created_at,
        updated_at=site.updated_at,
    )
