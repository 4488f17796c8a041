"""The fleet benchmark in small: 100 cars through a morning, correctness figures only.

Timings are the benchmark's business (benchmarks/fleet.py); here the run must meet every
feasible goal, send nothing into a closed cooldown gate and no command twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from benchmarks.fleet import KEYS, context, figures, goals
from benchmarks.fleet_run import run_fleet

# 04:00 in Oslo: cars plugged in overnight leave over the next four hours.
MORNING = datetime(2025, 10, 24, 2, 0, tzinfo=UTC)


async def test_hundred_cars_meet_goals_politely(tmp_path: Path) -> None:
    observed = await run_fleet(
        vehicles=100, hours=4.0, speed=360.0, postgres_url=None,
        keep_log=tmp_path / "daemon.log", start=MORNING,
    )  # fmt: skip
    result = figures(observed)
    feasible, met = goals(observed)
    assert feasible >= 8, "the morning should hold enough goals to judge"
    assert result["feasible_goals_met_share"] == 1.0, f"{met} of {feasible} goals met"
    assert result["requests_into_closed_gates"] == 0
    assert result["duplicate_commands"] == 0
    # One process on SQLite: no leases to watch, nothing struck.
    assert tuple(result) == KEYS
    assert (result["replicas"], result["shards_moved"], result["takeover_s_max"]) == (1, None, None)
    assert result["reads_per_vehicle_hour_unplugged"] > 0, "unplugged cars are still read"
    # A share of the fleet is charged through wallboxes, and they were commanded there.
    assert context(observed)["cars_on_chargers"] >= 5
    assert any(e["path"].startswith("/chargers/") and e["method"] == "POST" for e in observed.log)
