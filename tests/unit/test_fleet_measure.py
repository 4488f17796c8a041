"""The fleet benchmark's boundary attribution, on a hand-made request log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks import fleet_measure as measure

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
