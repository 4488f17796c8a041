"""The fleet benchmark's boundary attribution, on a hand-made request log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks import fleet_measure as measure
from benchmarks.fleet_scenario import FleetCar

T0 = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)


def command(seq: int, at: datetime, action: str, vehicle_id: str = "v1") -> dict[str, Any]:
    return {
        "seq": seq, "sim_time": at.isoformat(), "method": "POST", "status": 200,
        "path": f"/vehicles/{vehicle_id}/charging", "user_id": "u1", "vehicle_id": vehicle_id,
        "request_body": json.dumps({"action": action}),
    }  # fmt: skip


def test_a_stop_after_a_deliberate_extension_is_not_a_late_boundary() -> None:
    window = (T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    schedules = {"v1": [(T0, [window])], "v2": [(T0, [window])]}
    log = [
        command(1, window[0] + timedelta(seconds=2), "START"),
        command(2, window[1] + timedelta(seconds=3), "STOP", "v2"),
        command(3, window[1] + timedelta(minutes=20), "STOP"),
    ]
    run = measure.Span(T0, T0 + timedelta(hours=4))
    extended = {"v1": [window[1] + timedelta(seconds=1)]}
    found = measure.boundary_delays(log, schedules, run, extended)
    assert found.delays_s == [2.0, 3.0]
    assert found.extension_stops == 1
    # Without the daemon's word that it extended on purpose, the stop is 20 minutes late.
    assert measure.boundary_delays(log, schedules, run).delays_s == [2.0, 3.0, 1200.0]


def car(vehicle_id: str, vendor: str, plug_in: datetime, plug_out: datetime) -> FleetCar:
    # 6.3 kWh at 7 kW and 90 %: one hour of charging.
    return FleetCar(
        vehicle_id, "u1", vendor, capacity_kwh=63.0, power_kw=7.0, soc_percent=40.0,
        target_percent=50.0, plug_in=plug_in, plug_out=plug_out,
    )  # fmt: skip


def test_goals_allow_for_outages_once_where_they_overlap() -> None:
    run = measure.Span(T0, T0 + timedelta(hours=4))
    # Plugged 2 h: 1 h of charging + 15 min margin fits, unless more than 45 min are lost.
    cars = [
        car("bmw", "BMW", T0, T0 + timedelta(hours=2)),
        car("kia", "KIA", T0, T0 + timedelta(hours=2)),
    ]
    soc = {"bmw": 50.0, "kia": 45.0}
    vendor = measure.Span(T0, T0 + timedelta(minutes=30))

    def judge(replica_gone_min: tuple[int, int]) -> tuple[int, int]:
        lo, hi = (T0 + timedelta(minutes=m) for m in replica_gone_min)
        outages: list[measure.Outage] = [
            (lambda c: c.vendor == "BMW", vendor),
            (lambda c: c.vehicle_id == "bmw", measure.Span(lo, hi)),
        ]
        return measure.goals(cars, soc, run, notice_s=0, margin_s=900, outages=outages)

    # 30 + 30 minutes with 20 in common: 40 lost, still feasible (and met).
    assert judge((10, 40)) == (2, 1)
    # With 10 in common: 50 lost, and the BMW's goal is no longer feasible.
    assert judge((20, 50)) == (1, 0)
