"""The garage replay: what a cap does to independent plans, a reactive limiter, the joint plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from enode_scheduler.backtest import site_replay
from enode_scheduler.backtest.market import PriceSeries
from enode_scheduler.backtest.sessions import Session
from enode_scheduler.planner.models import Slot

T0 = datetime(2024, 1, 8, 16, 0, tzinfo=UTC)


def _prices() -> PriceSeries:
    # expensive evening, one cheap hour at 01:00, expensive morning
    prices = [0.30] * 9 + [0.05] + [0.30] * 8
    return PriceSeries(
        [
            Slot(T0 + timedelta(hours=k), T0 + timedelta(hours=k + 1), price)
            for k, price in enumerate(prices)
        ]
    )


def _session(name: str, arrive_h: float, leave_h: float, kwh: float) -> Session:
    return Session(
        session_id=name,
        plug_in=T0 + timedelta(hours=arrive_h),
        plug_out=T0 + timedelta(hours=leave_h),
        energy_kwh=kwh,
        max_power_kw=7.0,
    )


def test_two_cars_wanting_the_same_cheap_hour_under_a_one_car_cap() -> None:
    cars = site_replay.cars_of([_session("a", 0, 14, 7.0), _session("b", 1, 14, 7.0)])
    prices, cap = _prices(), 7.0
    wanted = site_replay.independent(cars, prices)
    alone = site_replay.score("independent", cars, wanted, prices, cap, plans=2)
    # both pick 01:00-02:00: an hour at 14 kW over a 7 kW cap, both goals met at 0.05
    assert alone.seconds_above_cap == pytest.approx(3600)
    assert alone.peak_kw == pytest.approx(14.0)
    assert alone.goals_missed == 0
    assert alone.cost == pytest.approx(2 * 7.0 * 0.05)

    limited = site_replay.reactive(cars, wanted, cap)
    react = site_replay.score("reactive", cars, limited, prices, cap, plans=2)
    assert react.seconds_above_cap == 0
    assert react.goals_missed == 1  # "b", the newer car, is stopped and never replanned
    assert react.kwh_short == pytest.approx(7.0)

    together, plans = site_replay.joint(cars, prices, cap)
    joint = site_replay.score("joint", cars, together, prices, cap, plans=plans)
    assert joint.seconds_above_cap == 0
    assert joint.peak_kw == pytest.approx(7.0)
    assert joint.goals_missed == 0
    # one car gets the cheap hour, the other an expensive one: the least cost under the cap
    assert joint.cost == pytest.approx(7.0 * 0.05 + 7.0 * 0.30)


def test_uncontrolled_peak_is_every_car_at_full_power_from_plug_in() -> None:
    cars = site_replay.cars_of([_session("a", 0, 10, 14.0), _session("b", 1, 10, 7.0)])
    assert site_replay.uncontrolled_peak_kw(cars) == pytest.approx(14.0)
