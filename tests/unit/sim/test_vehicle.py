"""Properties of the sim's battery physics (pure, no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.sim.vehicle import SimVehicle

T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def _car(soc: float, limit: float, *, plugged: bool = True) -> SimVehicle:
    return SimVehicle(
        id="car",
        user_id="u",
        vendor="TESLA",
        model="Model 3",
        year=2022,
        capacity_kwh=60.0,
        max_charge_kw=11.0,
        efficiency=0.9,
        charge_limit_percent=limit,
        soc_percent=soc,
        plugged_in=plugged,
        charging=False,
        reasons=["DEFAULT"],
        updated_at=T0,
        latitude=0.0,
        longitude=0.0,
        odometer_km=0.0,
    )


socs = st.floats(min_value=0, max_value=100)
steps = st.lists(st.floats(min_value=1, max_value=7200), min_size=1, max_size=20)


@given(soc=socs, limit=socs, gaps=steps)
def test_many_small_reads_equal_one_big_read(soc: float, limit: float, gaps: list[float]) -> None:
    stepped, jumped = _car(soc, limit), _car(soc, limit)
    for car in (stepped, jumped):
        car.command("START", now=T0, delay_s=0)
    now = T0
    for gap in gaps:
        now += timedelta(seconds=gap)
        stepped.advance(now)
    jumped.advance(now)
    assert abs(stepped.soc_percent - jumped.soc_percent) < 1e-6
    assert stepped.charging == jumped.charging
    assert stepped.reasons == jumped.reasons


@given(soc=socs, limit=socs, gaps=steps)
def test_soc_never_falls_and_never_passes_the_limit(
    soc: float, limit: float, gaps: list[float]
) -> None:
    car = _car(soc, limit)
    car.command("START", now=T0, delay_s=0)
    now, last = T0, soc
    for gap in gaps:
        now += timedelta(seconds=gap)
        car.advance(now)
        assert car.soc_percent >= last
        assert car.soc_percent <= max(soc, limit)
        last = car.soc_percent
    if car.soc_percent >= limit:
        assert car.charging is False
        assert car.charge_rate_kw is None


@given(delay=st.floats(min_value=0.5, max_value=600), soc=st.floats(min_value=0, max_value=50))
def test_a_command_changes_nothing_before_its_delay(delay: float, soc: float) -> None:
    car = _car(soc, 80)
    car.command("START", now=T0, delay_s=delay)
    car.advance(T0 + timedelta(seconds=delay * 0.99))
    assert car.charging is False
    assert car.soc_percent == soc
    car.advance(T0 + timedelta(seconds=delay))
    assert car.charging is True
    assert car.reasons == ["MANUALLY_STARTED"]


def test_energy_from_a_full_stop_to_start_cycle() -> None:
    car = _car(50, 100)
    car.command("START", now=T0, delay_s=0)
    car.command("STOP", now=T0 + timedelta(hours=1), delay_s=0)
    car.advance(T0 + timedelta(hours=5))
    assert abs(car.soc_percent - (50 + 11 * 0.9 / 60 * 100)) < 1e-9
    assert car.reasons == ["MANUALLY_STOPPED"]


def _smart_car() -> SimVehicle:
    car = _car(50, 80, plugged=False)
    car.set_smart_charging(enabled=True, deadline="07:00", now=T0)
    car.set_plugged(True, now=T0, charge_on_plug=True)
    return car


def test_smart_charging_waits_then_starts_in_time_for_the_deadline() -> None:
    car = _smart_car()
    assert (car.charging, car.reasons) == (False, ["SMART_CHARGING_DELAY"])
    # 18 kWh at 11 kW x 0.9 takes 1.82 h: the start is about 05:11 the next morning.
    car.advance(T0 + timedelta(hours=11))
    assert (car.charging, car.soc_percent) == (False, 50)
    car.advance(T0 + timedelta(hours=12))
    assert (car.charging, car.reasons) == (True, ["SMART_CHARGING_ACTIVE"])
    car.advance(T0 + timedelta(hours=13))
    assert abs(car.soc_percent - 80) < 1e-6
    assert car.reasons == ["FULLY_CHARGED"]


def test_a_manual_start_overrides_smart_charging() -> None:
    car = _smart_car()
    car.command("START", now=T0 + timedelta(minutes=5), delay_s=0)
    assert car.reasons == ["MANUALLY_STARTED"]
    car.set_smart_charging(enabled=True, deadline="06:00", now=T0 + timedelta(minutes=6))
    assert car.reasons == ["MANUALLY_STARTED"]


def test_smart_charging_too_late_starts_at_once_for_the_deadline() -> None:
    car = _car(10, 100, plugged=True)
    car.set_smart_charging(enabled=True, deadline="19:00", now=T0)
    car.advance(T0 + timedelta(seconds=1))
    assert (car.charging, car.reasons) == (True, ["SMART_CHARGING_DEADLINE"])
