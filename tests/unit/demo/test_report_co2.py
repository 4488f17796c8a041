"""The demo's books with carbon intensity: kg CO2 next to cost, and null without a source."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enode_scheduler.demo import scenario
from enode_scheduler.demo.report import car_result, report_json, report_table
from enode_scheduler.demo.runner import DemoRun, Night, Track
from enode_scheduler.planner.models import Slot

START = scenario.START


def _demo(*, co2: bool) -> DemoRun:
    car = scenario.CARS[0]  # 11 kW
    hour = timedelta(hours=1)
    slots = [
        Slot(START, START + hour, 0.50, g_co2_per_kwh=500.0 if co2 else None),
        Slot(START + hour, START + 2 * hour, 0.10, g_co2_per_kwh=100.0 if co2 else None),
    ]
    track = Track(car)
    # 11 kWh charged in the cheap, clean second hour
    track.nights.append(
        Night(START, START + 2 * hour, 80.0, energy_kwh=11.0, cost=1.1, co2_kg=1.1 if co2 else 0.0)
    )
    return DemoRun(1, 3600.0, {car.vehicle_id: track}, slots=slots, co2=co2)


def test_car_result_counts_kg_co2_against_charging_at_once() -> None:
    demo = _demo(co2=True)
    result = car_result(demo, next(iter(demo.tracks.values())))
    # at once: the whole 11 kWh in the first hour at 500 g and 0.50
    assert result["baseline_cost"] == pytest.approx(5.5)
    assert result["baseline_co2_kg"] == pytest.approx(5.5)
    assert result["co2_kg"] == pytest.approx(1.1)
    assert result["co2_saving_kg"] == pytest.approx(4.4)
    report = report_json(demo)
    assert report["total_co2_kg"] == pytest.approx(1.1)
    assert report["total_baseline_co2_kg"] == pytest.approx(5.5)
    headers = [str(column.header) for column in report_table(demo).columns]
    assert "kg CO2" in headers
    assert "at once kg" in headers


def test_without_intensity_co2_is_null_and_not_shown() -> None:
    demo = _demo(co2=False)
    report = report_json(demo)
    assert report["cars"][0]["co2_kg"] is None
    assert report["total_co2_kg"] is None
    assert "kg CO2" not in [str(column.header) for column in report_table(demo).columns]
