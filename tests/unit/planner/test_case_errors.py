"""`plan-case` on bad input: exit 2 and one line saying what is wrong; arrays keep going."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from enode_scheduler.cli import app
from tests.unit.planner.helpers import case_json


def _good() -> dict[str, Any]:
    return case_json(
        now="2024-03-05T18:00:00Z", deadline="2024-03-05T22:00:00Z", prices=[0.3, 0.1, 0.2, 0.4]
    )


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    case = _good()
    *parents, key = path
    target = case
    for parent in parents:
        target = target[parent]
    del target[key]
    return case


def _with(path: tuple[str, ...], value: object) -> dict[str, Any]:
    case = _good()
    *parents, key = path
    target = case
    for parent in parents:
        target = target[parent]
    target[key] = value
    return case


def _gap() -> dict[str, Any]:
    case = _good()
    case["prices"][1]["start"] = "2024-03-05T19:05:00Z"
    return case


def _overlap() -> dict[str, Any]:
    case = _good()
    case["prices"][1]["start"] = "2024-03-05T18:55:00Z"
    return case


BAD = [
    ("missing-field", _without(("vehicle", "soc_percent")), "missing field vehicle.soc_percent"),
    ("missing-prices", _without(("prices",)), "missing field prices"),
    (
        "deadline-before-now",
        _with(("goal", "deadline"), "2024-03-05T17:00:00Z"),
        "goal.deadline must be after now",
    ),
    ("capacity-zero", _with(("vehicle", "battery_capacity_kwh"), 0), "battery_capacity_kwh"),
    ("efficiency-above-one", _with(("vehicle", "charge_efficiency"), 1.2), "charge_efficiency"),
    ("price-gap", _gap(), "gap between 2024-03-05T19:00:00Z and 2024-03-05T19:05:00Z"),
    ("price-overlap", _overlap(), "overlaps"),
    (
        "not-covering-deadline",
        _with(("goal", "deadline"), "2024-03-05T23:00:00Z"),
        "no price for 2024-03-05T22:00:00Z to 2024-03-05T23:00:00Z",
    ),
    ("bad-time", _with(("now",), "yesterday"), "now is not an ISO-8601 time"),
    ("number-as-string", _with(("vehicle", "max_charge_kw"), "7"), "vehicle.max_charge_kw"),
]


@pytest.mark.parametrize(("case", "needle"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_case_exits_2_with_one_line(tmp_path: Path, case: object, needle: str) -> None:
    file = tmp_path / "case.json"
    file.write_text(json.dumps(case))
    result = CliRunner().invoke(app, ["plan-case", str(file)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]


def test_not_json_exits_2(tmp_path: Path) -> None:
    file = tmp_path / "case.json"
    file.write_text("{nope")
    result = CliRunner().invoke(app, ["plan-case", str(file)])
    assert result.exit_code == 2
    assert "is not JSON" in result.stderr


def test_array_gives_results_in_order_with_errors_in_place(tmp_path: Path) -> None:
    file = tmp_path / "cases.json"
    file.write_text(json.dumps([_good(), _gap(), _good()]))
    result = CliRunner().invoke(app, ["plan-case", str(file)])
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert len(out) == 3
    assert "gap between" in out[1]["error"]
    assert out[0] == out[2]
    assert out[0]["windows"] == [{"start": "2024-03-05T19:00:00Z", "end": "2024-03-05T20:30:00Z"}]
    assert out[0]["grid_energy_kwh"] == pytest.approx(15.0)


def test_contract_example_runs(tmp_path: Path) -> None:
    case = case_json(
        now="2024-03-05T16:40:00Z",
        deadline="2024-03-06T07:00:00Z",
        start="2024-03-05T16:00:00Z",
        prices=[0.0931] * 15,
        capacity=64.0,
        soc=31.5,
        power=7.4,
        efficiency=0.9,
        min_soc=20.0,
    )
    file = tmp_path / "case.json"
    file.write_text(json.dumps(case))
    result = CliRunner().invoke(app, ["plan-case", str(file)])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["feasible"] is True
    assert out["grid_energy_kwh"] == pytest.approx(48.5 / 100 * 64 / 0.9, abs=1e-4)
    assert out["soc_at_deadline_percent"] == pytest.approx(80.0)
    assert out["starts"] == 1
