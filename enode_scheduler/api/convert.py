"""Records from the ports turned into API bodies, and plan bodies into records."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from enode_scheduler.api.models import (
    WEEKDAYS,
    ChargerOut,
    ChargerPlanIn,
    CommandOut,
    LocationOut,
    OutcomeOut,
    OverrideOut,
    PlanIn,
    PlanOut,
    RepeatOut,
    ScheduleOut,
    SiteLocationOut,
    SiteOut,
    VehicleOut,
    VehicleScheduleOut,
    WindowOut,
)
from enode_scheduler.planner.explain import explanation_for
from enode_scheduler.planner.models import Window, WindowReason
from enode_scheduler.records import (
    ChargerReading,
    ChargingLocation,
    CommandIntent,
    OverrideRecord,
    PlanOutcome,
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
        charger_id=body.charger_id,
        location_id=location_id,
    )


def charger_plan_record(
    body: ChargerPlanIn, *, charger_id: str, user_id: str, location_id: str | None = None
) -> PlanRecord:
    """A charger-only plan: keyed by the charger, a "battery" of `energy_kwh` to fill."""
    repeat = body.repeat
    return PlanRecord(
        vehicle_id=charger_id,
        user_id=user_id,
        target_soc_percent=100.0,
        timezone=body.timezone,
        deadline=body.deadline.astimezone(UTC) if body.deadline else None,
        weekdays=frozenset(WEEKDAYS.index(d) for d in repeat.days) if repeat else frozenset(),
        local_time=repeat.at if repeat else None,
        start_penalty=body.start_penalty,
        enabled=body.enabled,
        charger_id=charger_id,
        energy_kwh=body.energy_kwh,
        co2_price_per_kg=body.co2_price_per_kg,
        location_id=location_id,
    )


def charger_out(reading: ChargerReading, *, now: datetime) -> ChargerOut:
    age_s = (now - reading.last_seen).total_seconds() if reading.last_seen else None
    return ChargerOut(
        charger_id=reading.charger_id,
        vendor=reading.vendor,
        brand=reading.brand,
        model=reading.model,
        is_plugged_in=reading.is_plugged_in,
        is_charging=reading.is_charging,
        is_reachable=reading.is_reachable,
        charge_rate_kw=reading.charge_rate_kw,
        energy_kwh=reading.energy_kwh,
        last_seen=reading.last_seen,
        reading_age_s=max(0.0, age_s) if age_s is not None else None,
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
        target=plan.target.value,
        charger_id=plan.charger_id,
        energy_kwh=plan.energy_kwh,
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


def schedule_out(
    record: ScheduleRecord, *, timezone: str = "UTC", currency: str = "EUR"
) -> ScheduleOut:
    """The schedule; its explanation in the plan's `timezone` and the configured `currency`."""
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
        explanation=list(explanation_for(s, tz=ZoneInfo(timezone), currency=currency)),
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


def outcome_out(outcome: PlanOutcome) -> OutcomeOut:
    return OutcomeOut(
        deadline=outcome.deadline,
        outcome=outcome.kind.value,
        detail=outcome.describe(),
        target_soc_percent=outcome.target_soc_percent,
        soc_percent=outcome.soc_percent,
        limit_percent=outcome.limit_percent,
    )


def vehicle_schedule_out(
    vehicle_id: str,
    *,
    plan: PlanRecord | None,
    reading: VehicleReading | None,
    record: ScheduleRecord | None,
    override: OverrideRecord | None,
    history: list[CommandIntent],
    outcome: PlanOutcome | None,
    now: datetime,
    currency: str,
) -> VehicleScheduleOut:
    """The body of `GET /v1/vehicles/{id}/schedule`, also what `plans show` prints; times in
    explanations are in the plan's zone."""
    soc = reading.soc_percent if reading is not None else None
    timezone = plan.timezone if plan is not None else "UTC"
    return VehicleScheduleOut(
        vehicle_id=vehicle_id,
        status=plan.shown_status if plan else None,
        location_id=plan.location_id if plan else None,
        charging_location_id=reading.charging_location_id if reading else None,
        schedule=schedule_out(record, timezone=timezone, currency=currency) if record else None,
        override=override_out(override, now=now, soc_percent=soc) if override else None,
        commands=[command_out(i) for i in history],
        last_outcome=outcome_out(outcome) if outcome else None,
        currency=currency,
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
