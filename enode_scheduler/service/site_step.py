"""The reconciler's site step: the cars of each site as `sites` sees them, their joint plan as
per-car schedules, and the load the site's cars draw for the cap check.

Only translation lives here; the decisions are `service/sites.py` and `planner/site.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from enode_scheduler.config import SchedulerSettings
from enode_scheduler.planner.models import (
    Goal,
    Schedule,
    Slot,
    VehicleState,
    Window,
)
from enode_scheduler.planner.site_models import SiteCar, SitePlan
from enode_scheduler.planner.timeline import estimate_tail_price
from enode_scheduler.records import ChargeAction, IntentStatus, PlanStatus
from enode_scheduler.service import sites
from enode_scheduler.service.model import Car, where

SitePlanFn = Callable[..., SitePlan]  # planner.site.plan_site(cars, max_kw=, slots=, now=)


def power_kw(car: Car, settings: SchedulerSettings) -> float:
    """The power the car is planned with: as last seen charging, else the default."""
    return car.power_kw or settings.default_charge_kw


def cap_kw(car: Car, *, max_kw: float) -> float:
    """The power the cap check counts for the car: as last seen charging, else the whole cap.

    A charger's power is learnt from the car's first charging reading; until then the car is
    started only alone at its site, so a charger above the default cannot take the site over.
    """
    return car.power_kw or max_kw


def views(
    cars: Mapping[str, Car],
    settings: SchedulerSettings,
    *,
    deadlines: Mapping[str, datetime],
) -> list[sites.SiteCarView]:
    """Every planned car as the grouping sees it: present = an active plan with a deadline ahead,
    plugged in at the plan's location."""
    found = []
    for vid, car in cars.items():
        applies = car.reading is not None and where(car, settings)[1]
        present = (
            applies
            and car.plan.status is PlanStatus.ACTIVE
            and vid in deadlines
            and car.reading is not None
            and bool(car.reading.is_plugged_in)
            and car.reading.soc_percent is not None
        )
        found.append(
            sites.SiteCarView(
                vid, car.plan.user_id, car.plan.location_id, present, power_kw(car, settings)
            )
        )
    return found


def drawing_kw(members: Sequence[Car], *, max_kw: float) -> dict[str, float]:
    """The site's cars that draw power or may any moment: seen charging (an unconfirmed STOP
    does not change that) or with a START in flight."""
    load: dict[str, float] = {}
    for car in members:
        intent = car.intent
        starting = (
            intent is not None
            and intent.action is ChargeAction.START
            and intent.status in (IntentStatus.SENT, IntentStatus.PENDING)
        )
        if starting or bool(car.reading and car.reading.is_charging):
            load[car.plan.vehicle_id] = cap_kw(car, max_kw=max_kw)
    return load


def joint_schedules(
    group: sites.SiteGroup,
    members: Sequence[Car],
    slots: Sequence[Slot],
    *,
    deadlines: Mapping[str, datetime],
    now: datetime,
    settings: SchedulerSettings,
    plan_site: SitePlanFn,
) -> dict[str, Schedule] | None:
    """Each member's part of the site's joint plan; None when no price is known yet."""
    last = max(deadlines[c.plan.vehicle_id] for c in members)
    usable = sorted((s for s in slots if s.end > now and s.start < last), key=lambda s: s.start)
    if not usable:
        return None
    if usable[-1].end < last:
        # Unpublished hours at a typical recent price, as the single-car planner assumes.
        tail = Slot(usable[-1].end, last, estimate_tail_price(usable), provisional=True)
        usable.append(tail)
    site_cars = [_site_car(car, deadlines[car.plan.vehicle_id], settings) for car in members]
    plan = plan_site(site_cars, max_kw=group.max_kw, slots=usable, now=now)
    out: dict[str, Schedule] = {}
    for car, part in zip(members, plan.cars, strict=True):
        kw = power_kw(car, settings)
        out[part.id] = Schedule(
            feasible=part.feasible,
            windows=tuple(_provisional(w, usable) for w in part.windows),
            grid_energy_kwh=part.grid_energy_kwh,
            cost=part.cost,
            starts=part.starts,
            soc_at_deadline_percent=part.soc_at_deadline_percent,
            baseline_cost=_cost_from_now(part.needed_kwh, kw, usable, now=now),
            explanation=(sites.explain(group, part.id, power_kw=kw),),
        )
    return out


def _site_car(car: Car, deadline: datetime, s: SchedulerSettings) -> SiteCar:
    reading, plan = car.reading, car.plan
    assert reading is not None
    assert reading.soc_percent is not None
    state = VehicleState(
        battery_capacity_kwh=reading.battery_capacity_kwh or s.default_capacity_kwh,
        soc_percent=reading.soc_percent,
        max_charge_kw=power_kw(car, s),
        charge_efficiency=s.default_efficiency,
        charging_now=bool(reading.is_charging),
    )
    goal = Goal(
        target_soc_percent=plan.target_soc_percent,
        deadline=deadline,
        min_soc_percent=plan.min_soc_percent,
        start_penalty=plan.start_penalty,
        deadline_margin_s=s.deadline_margin_s,
    )
    return SiteCar(plan.vehicle_id, state, goal)


def _provisional(window: Window, slots: Sequence[Slot]) -> Window:
    guessed = any(s.provisional and s.start < window.end and s.end > window.start for s in slots)
    return dataclasses.replace(window, provisional=guessed) if guessed else window


def _cost_from_now(energy_kwh: float, kw: float, slots: Sequence[Slot], *, now: datetime) -> float:
    """What the same energy would cost charged at once from `now` (the saving's baseline)."""
    left, cost = energy_kwh, 0.0
    for slot in slots:
        if left <= 0:
            break
        hours = (slot.end - max(slot.start, now)).total_seconds() / 3600
        if hours <= 0:
            continue
        taken = min(left, kw * hours)
        cost += taken * slot.price_per_kwh
        left -= taken
    return cost
