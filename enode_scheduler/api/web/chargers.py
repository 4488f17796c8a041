"""Charger-only plans on the web page: the charger's reading as the plan sees it, in kWh.

A charger-only plan has no car and so no vehicle reading; its "SoC" is the share of its energy
goal the charger delivered this cycle (`service.energy.energy_reading`, the daemon's own rule).
The page shows the kWh beside it, so nobody reads that share as a battery level.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from enode_scheduler.ports import ChargerStore
from enode_scheduler.records import ChargerReading, EnergyBaseline, PlanRecord, VehicleReading
from enode_scheduler.service.energy import delivered_kwh, energy_reading

__all__ = ["EnergyView", "energy_view", "energy_views"]


@dataclass(frozen=True, slots=True)
class EnergyView:
    """One charger-only plan as the page shows it."""

    # The reading the daemon plans with (`soc_percent`: share of the goal delivered).
    reading: VehicleReading
    # None: the charger has never been read.
    charger: ChargerReading | None
    goal_kwh: float
    # None: not known, the daemon has not begun this cycle's count (or never read the charger).
    delivered_kwh: float | None


def energy_view(
    plan: PlanRecord, charger: ChargerReading | None, baseline: EnergyBaseline | None
) -> EnergyView:
    """The plan's view; a charger never read, or a count not begun, shows nothing delivered."""
    goal = plan.energy_kwh or 0.0
    if charger is None:
        return EnergyView(_unread(plan), None, goal, None)
    if baseline is None:
        # As `GET /v1/chargers/{id}/schedule` says: null, not a made-up zero.
        reading = energy_reading(charger, plan, baseline_kwh=charger.energy_kwh or 0.0)
        return EnergyView(replace(reading, soc_percent=None), charger, goal, None)
    done = delivered_kwh(charger, baseline_kwh=baseline.start_kwh)
    return EnergyView(
        energy_reading(charger, plan, baseline_kwh=baseline.start_kwh), charger, goal, done
    )


async def energy_views(
    chargers: ChargerStore | None, plans: Iterable[PlanRecord]
) -> dict[str, EnergyView]:
    """The views of the charger-only plans among `plans`, from two batched reads."""
    wanted = {p.vehicle_id: p for p in plans if p.energy_only and p.charger_id is not None}
    if not wanted:
        return {}
    ids = [p.charger_id for p in wanted.values() if p.charger_id is not None]
    readings = await chargers.latest_charger_readings(ids) if chargers else {}
    baselines = await chargers.get_energy_baselines(ids) if chargers else {}
    return {
        vid: energy_view(p, readings.get(cid), baselines.get(cid))
        for vid, p in wanted.items()
        if (cid := p.charger_id) is not None
    }


def _unread(plan: PlanRecord) -> VehicleReading:
    """Nothing known: no `last_seen` makes it stale, no position makes its location unknown."""
    return VehicleReading(
        vehicle_id=plan.vehicle_id, user_id=plan.user_id, vendor=None, last_seen=None,
        is_reachable=None, soc_percent=None, is_plugged_in=None, is_charging=None,
        charge_rate_kw=None, battery_capacity_kwh=plan.energy_kwh, charge_limit_percent=None,
    )  # fmt: skip
