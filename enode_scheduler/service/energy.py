"""Plans that act through a charger: pure functions turning charger readings into the reading a
plan works with.

A charger + car plan takes the SoC from the car and the plug and charging state from the charger.
A charger-only plan knows no SoC: its goal is energy delivered by the deadline, so its "SoC" is
the share of that energy the charger delivered since the plan's cycle began, counted from the
charger's power readings (our meter) unless the vendor gives a counter.
"""

from __future__ import annotations

import dataclasses

from enode_scheduler.records import ChargerReading, PlanRecord, VehicleReading


def metered(
    previous: ChargerReading | None, new: ChargerReading, *, assumed_kw: float
) -> ChargerReading:
    """`new` with its energy meter carried on from `previous`.

    Between two readings the charger is taken to have delivered the mean of their powers (a
    reading not charging counts 0, one charging without a rate `assumed_kw`): a start or stop
    between them is counted half, which undercounts a start and overcounts a stop alike.
    Time is the vendor's `lastSeen`, so a cached answer read twice adds nothing.
    """
    if new.energy_kwh is not None:
        return new  # the vendor's own counter
    if previous is None or previous.energy_kwh is None:
        return dataclasses.replace(new, energy_kwh=0.0)
    start, end = previous.last_seen, new.last_seen
    if start is None or end is None or end <= start:
        return dataclasses.replace(new, energy_kwh=previous.energy_kwh)
    hours = (end - start).total_seconds() / 3600
    mean_kw = (_power_kw(previous, assumed_kw) + _power_kw(new, assumed_kw)) / 2
    return dataclasses.replace(new, energy_kwh=previous.energy_kwh + mean_kw * hours)


def _power_kw(reading: ChargerReading, assumed_kw: float) -> float:
    if not reading.is_charging:
        return 0.0
    return assumed_kw if reading.charge_rate_kw is None else reading.charge_rate_kw


def via_charger(car: VehicleReading, charger: ChargerReading) -> VehicleReading:
    """The car's reading with the plug, charging state and power the charger reports."""
    return dataclasses.replace(
        car,
        is_plugged_in=charger.is_plugged_in,
        is_charging=charger.is_charging,
        charge_rate_kw=charger.charge_rate_kw,
    )


def delivered_kwh(charger: ChargerReading, *, baseline_kwh: float) -> float:
    return max(0.0, (charger.energy_kwh or 0.0) - baseline_kwh)


def energy_reading(
    charger: ChargerReading, plan: PlanRecord, *, baseline_kwh: float
) -> VehicleReading:
    """A charger-only plan's reading: a "battery" of `plan.energy_kwh`, as full as delivered."""
    goal = plan.energy_kwh or 0.0
    done = delivered_kwh(charger, baseline_kwh=baseline_kwh)
    share = 100.0 if goal <= 0 else min(100.0, done / goal * 100)
    return VehicleReading(
        vehicle_id=plan.vehicle_id,
        user_id=plan.user_id,
        vendor=charger.vendor,
        last_seen=charger.last_seen,
        is_reachable=charger.is_reachable,
        soc_percent=share,
        is_plugged_in=charger.is_plugged_in,
        is_charging=charger.is_charging,
        charge_rate_kw=charger.charge_rate_kw,
        battery_capacity_kwh=goal if goal > 0 else None,
        charge_limit_percent=None,
        # A wallbox does not move, and Enode v1.4 reports no location for a charger: it is where
        # its plan says, so the plan's location rule holds (and a plan without one still waits).
        charging_location_id=plan.location_id,
    )
