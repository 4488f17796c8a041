"""`enode-scheduler demo --json` as a new user runs it: one process, one simulated night."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.harness import CLI, subprocess_env

pytestmark = pytest.mark.e2e


def test_demo_runs_a_night_and_reports_every_car() -> None:
    done = subprocess.run(
        [*CLI, "demo", "--json"], capture_output=True, text=True, env=subprocess_env(), timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    cars = {c["id"]: c for c in report["cars"]}
    assert len(cars) == 7
    keys = {"id", "target_met", "feasible", "energy_kwh", "cost", "baseline_cost",
            "commands_sent", "rate_limited_responses"}  # fmt: skip
    assert all(keys <= set(c) for c in cars.values())
    assert cars["demo-leaf"]["feasible"] is False
    assert cars["demo-leaf"]["target_met"] is False
    assert cars["demo-bmw"]["rate_limited_responses"] > 0
    # The Peugeot is charged through its wallbox: commands went there, and it met its target.
    wallbox = cars["demo-peugeot"]
    assert (wallbox["controlled_via"], wallbox["charger_id"]) == ("charger", "demo-wallbox")
    assert wallbox["commands_sent"] > 0
    assert wallbox["target_met"] is True
    assert wallbox["cost"] < wallbox["baseline_cost"]
    # The run is the same every time (a step clock, not the wall): no slack for an unlucky one.
    assert all(c["target_met"] for c in cars.values() if c["feasible"])
    assert report["total_cost"] < report["total_baseline_cost"]
    # Away at a fast charger for part of the evening: reported away, not touched there, and
    # charged to its target at home.
    audi = cars["demo-audi"]
    assert audi["away"]["reported_away"] is True
    assert audi["away"]["commands_while_away"] == 0
    assert audi["target_met"] is True
    assert all(c["away"] is None for c in cars.values() if c["id"] != "demo-audi")
    assert report["wall_s"] < 60


def test_demo_with_co2_reports_kg_next_to_cost() -> None:
    intensity = Path(__file__).resolve().parents[1] / "fixtures/co2/demo_intensity_2025-10.csv"
    done = subprocess.run(
        [*CLI, "demo", "--json", "--co2", str(intensity)],
        capture_output=True, text=True, env=subprocess_env(), timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert all(c["co2_kg"] is not None for c in report["cars"])
    # planning on CO2 first beats charging at once on CO2
    assert report["total_co2_kg"] < report["total_baseline_co2_kg"]
