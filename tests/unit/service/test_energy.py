"""Charger plans' readings: the energy meter, the car through its charger, the energy "SoC"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.records import ChargerReading, PlanRecord, VehicleReading
from enode_scheduler.service.energy import energy_reading, metered, via_charger

T0 = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)


def box(
    minutes: float, *, charging: bool, rate: float | None = None, **kw: object
) -> ChargerReading:
    values: dict[str, object] = {
        "vendor": "EASEE",
        "last_seen": T0 + timedelta(minutes=minutes),
        "is_reachable": True,
        "is_plugged_in": True,
        "is_charging": charging,
        "charge_rate_kw": rate,
    }
    values.update(kw)
    return ChargerReading("c1", "u1", **values)  # type: ignore[arg-type]


def test_the_first_reading_starts_the_meter_at_zero() -> None:
    assert metered(None, box(0, charging=True, rate=11.0), assumed_kw=7.0).energy_kwh == 0.0


def test_steady_charging_counts_power_times_time() -> None:
    first = metered(None, box(0, charging=True, rate=11.0), assumed_kw=7.0)
    second = metered(first, box(30, charging=True, rate=11.0), assumed_kw=7.0)
    assert second.energy_kwh == pytest.approx(5.5)


def test_a_start_or_stop_between_readings_counts_half() -> None:
    idle = metered(None, box(0, charging=False), assumed_kw=7.0)
    started = metered(idle, box(60, charging=True, rate=10.0), assumed_kw=7.0)
    assert started.energy_kwh == pytest.approx(5.0)
    stopped = metered(started, box(120, charging=False), assumed_kw=7.0)
    assert stopped.energy_kwh == pytest.approx(10.0)


def test_charging_without_a_rate_counts_the_assumed_power() -> None:
    first = metered(None, box(0, charging=True), assumed_kw=7.0)
    assert metered(first, box(60, charging=True), assumed_kw=7.0).energy_kwh == pytest.approx(7.0)


def test_a_cached_answer_adds_nothing_and_a_vendor_counter_wins() -> None:
    first = metered(None, box(0, charging=True, rate=11.0), assumed_kw=7.0)
    again = metered(first, box(0, charging=True, rate=11.0), assumed_kw=7.0)
    assert again.energy_kwh == 0.0
    counted = metered(first, box(60, charging=True, rate=11.0, energy_kwh=42.0), assumed_kw=7.0)
    assert counted.energy_kwh == 42.0


@given(
    st.lists(
        st.tuples(st.floats(0, 600), st.booleans(), st.none() | st.floats(0, 350)), max_size=30
    )
)
def test_the_meter_never_runs_backwards(steps: list[tuple[float, bool, float | None]]) -> None:
    reading, minutes = None, 0.0
    for gap, charging, rate in steps:
        minutes += gap
        new = metered(reading, box(minutes, charging=charging, rate=rate), assumed_kw=11.0)
        assert new.energy_kwh is not None
        assert reading is None or new.energy_kwh >= (reading.energy_kwh or 0.0)
        reading = new


def test_a_car_through_its_charger_takes_plug_and_charging_from_the_charger() -> None:
    car = VehicleReading("car", "u1", "VOLKSWAGEN", T0, True, 55.0, True, False, None, 77.0, 90.0)
    merged = via_charger(car, box(0, charging=True, rate=11.0))
    assert (merged.soc_percent, merged.battery_capacity_kwh, merged.charge_limit_percent) == (
        55.0,
        77.0,
        90.0,
    )
    assert (merged.is_charging, merged.charge_rate_kw, merged.vendor) == (True, 11.0, "VOLKSWAGEN")


def test_a_charger_only_plan_reads_the_delivered_share_of_its_goal() -> None:
    plan = PlanRecord("c1", "u1", 100.0, deadline=T0 + timedelta(hours=8), charger_id="c1",
                      energy_kwh=20.0)  # fmt: skip
    reading = energy_reading(box(0, charging=True, rate=11.0, energy_kwh=15.0), plan,
                             baseline_kwh=10.0)  # fmt: skip
    assert reading.soc_percent == pytest.approx(25.0)
    assert reading.battery_capacity_kwh == 20.0
    assert (reading.vehicle_id, reading.is_charging) == ("c1", True)
    done = energy_reading(box(0, charging=True, energy_kwh=35.0), plan, baseline_kwh=10.0)
    assert done.soc_percent == 100.0
