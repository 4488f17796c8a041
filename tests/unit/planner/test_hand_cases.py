"""Hand-made contract cases with answers worked out on paper."""

from __future__ import annotations

from typing import Any

import pytest

from enode_scheduler.commands.plan_case import solve
from tests.unit.planner.helpers import case_json

# 50 kWh battery, 10 kW, efficiency 1: 50 % -> 80 % is 15 kWh = 1.5 h of charging.
CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "cheapest-hours-partial",
        case_json(
            now="2024-03-05T18:00:00Z",
            deadline="2024-03-06T00:00:00Z",
            prices=[0.30, 0.20, 0.10, 0.25, 0.05, 0.40],
        ),
        {
            "windows": [
                ("2024-03-05T20:00:00Z", "2024-03-05T20:30:00Z"),
                ("2024-03-05T22:00:00Z", "2024-03-05T23:00:00Z"),
            ],
            "cost": 0.05 * 10 + 0.10 * 5,
            "starts": 2,
            "feasible": True,
        },
    ),
    (
        "negative-prices-stop-at-target",
        case_json(
            now="2024-03-05T18:00:00Z",
            deadline="2024-03-05T22:00:00Z",
            prices=[0.10, -0.20, -0.05, 0.10],
        ),
        {
            "windows": [("2024-03-05T19:00:00Z", "2024-03-05T20:30:00Z")],
            "cost": -0.20 * 10 - 0.05 * 5,
            "starts": 1,
            "feasible": True,
        },
    ),
    (
        "now-mid-slot-deadline-mid-slot",
        case_json(
            now="2024-03-05T18:40:00Z",
            deadline="2024-03-05T21:20:00Z",
            start="2024-03-05T18:00:00Z",
            prices=[0.05, 0.30, 0.30, 0.06],
        ),
        # 20 min at 0.05 from now, the 20 min at 0.06 before the deadline, then 50 min at 0.30
        {"cost": 0.05 * 10 / 3 + 0.06 * 10 / 3 + 0.30 * 10 * 50 / 60, "feasible": True},
    ),
    (
        "mixed-60-and-15-minute-slots",
        case_json(
            now="2024-03-05T18:00:00Z",
            deadline="2024-03-05T20:00:00Z",
            prices=[0.2, 0.01, 0.02, 0.03, 0.04],
            minutes=[60, 15, 15, 15, 15],
            soc=70.0,
        ),
        {
            "windows": [("2024-03-05T19:00:00Z", "2024-03-05T19:30:00Z")],
            "cost": 0.01 * 2.5 + 0.02 * 2.5,
            "starts": 1,
            "feasible": True,
        },
    ),
    (
        "zero-need",
        case_json(
            now="2024-03-05T18:00:00Z", deadline="2024-03-05T20:00:00Z", prices=[0.1, 0.1], soc=85.0
        ),
        {
            "windows": [],
            "cost": 0.0,
            "starts": 0,
            "feasible": True,
            "soc_at_deadline_percent": 85.0,
        },
    ),
    (
        "infeasible-charges-until-deadline",
        case_json(now="2024-03-05T18:00:00Z", deadline="2024-03-05T19:00:00Z", prices=[0.1, 0.1]),
        {
            "windows": [("2024-03-05T18:00:00Z", "2024-03-05T19:00:00Z")],
            "cost": 1.0,
            "feasible": False,
            "soc_at_deadline_percent": 70.0,
        },
    ),
    (
        "min-soc-above-target-charges-at-once-to-target",
        case_json(
            now="2024-03-05T18:00:00Z",
            deadline="2024-03-05T22:00:00Z",
            prices=[0.5, 0.1, 0.1, 0.1],
            min_soc=90.0,
        ),
        {
            "windows": [("2024-03-05T18:00:00Z", "2024-03-05T19:30:00Z")],
            "cost": 0.5 * 10 + 0.1 * 5,
            "feasible": True,
        },
    ),
    (
        "min-soc-floor-then-cheapest",
        case_json(
            now="2024-03-05T18:00:00Z",
            deadline="2024-03-05T22:00:00Z",
            prices=[0.5, 0.4, 0.4, 0.1],
            min_soc=60.0,
        ),
        # 10 % = 5 kWh at once (30 min at 0.5), the remaining 10 kWh in the last hour
        {
            "windows": [
                ("2024-03-05T18:00:00Z", "2024-03-05T18:30:00Z"),
                ("2024-03-05T21:00:00Z", "2024-03-05T22:00:00Z"),
            ],
            "cost": 0.5 * 5 + 0.1 * 10,
            "starts": 2,
            "feasible": True,
        },
    ),
    (
        "ties-go-to-the-earlier-slot",
        case_json(
            now="2024-03-05T18:00:00Z",
            deadline="2024-03-05T22:00:00Z",
            prices=[0.2, 0.1, 0.2, 0.1],
            soc=60.0,
        ),
        {"windows": [("2024-03-05T19:00:00Z", "2024-03-05T20:00:00Z")], "starts": 1},
    ),
    (
        "penalty-joins-two-cheap-hours-over-a-dear-one",
        case_json(
            now="2024-03-05T18:00:00Z",
            deadline="2024-03-05T23:00:00Z",
            prices=[0.5, 0.10, 0.14, 0.10, 0.5],
            soc=40.0,
            penalty=1.0,
        ),
        # 20 kWh: split costs 2.0 + 1 extra start; joined costs 1.0 + 1.4 * 0.5 + ... = 2.2
        {"starts": 1, "cost": pytest.approx(0.10 * 10 + 0.14 * 10, abs=1e-3)},
    ),
    (
        "charging-now-window-at-now-is-free",
        case_json(
            now="2024-03-05T18:00:00Z",
            deadline="2024-03-05T21:00:00Z",
            prices=[0.11, 0.30, 0.10],
            soc=60.0,
            charging_now=True,
            penalty=0.5,
        ),
        # 10 kWh: keep charging for the first hour (1.1, no start) beats 1.0 + one start
        {"windows": [("2024-03-05T18:00:00Z", "2024-03-05T19:00:00Z")], "starts": 0},
    ),
]


@pytest.mark.parametrize(("case", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hand_case(case: dict[str, Any], expected: dict[str, Any]) -> None:
    result = solve(case)
    for key, value in expected.items():
        if key == "windows":
            assert [(w["start"], w["end"]) for w in result["windows"]] == value
        elif isinstance(value, float):
            assert result[key] == pytest.approx(value, abs=1e-6)
        else:
            assert result[key] == value
