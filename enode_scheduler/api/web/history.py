"""Recent SoC readings per vehicle, kept in memory by the daemon for the car page's chart.

The store keeps only the latest reading per vehicle; the chart wants the readings since the plan
was made. A bounded ring per vehicle is enough for that, and costs nothing to lose on a restart.
Points are packed as doubles (16 bytes each): 10,000 cars at the default 96 points is 15 MB.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from enode_scheduler.records import VehicleReading

__all__ = ["SocHistory"]


class SocHistory:
    """The last `per_vehicle` (last_seen, SoC) readings of each vehicle, oldest first."""

    def __init__(self, per_vehicle: int = 96) -> None:
        self._per_vehicle = per_vehicle
        # vehicle -> [t0, soc0, t1, soc1, ...] with t in Unix seconds.
        self._points: dict[str, array[float]] = {}

    def observe(self, readings: Iterable[VehicleReading | None]) -> None:
        """Record readings not seen before (the same `last_seen` is the same reading)."""
        for reading in readings:
            if reading is None or reading.last_seen is None or reading.soc_percent is None:
                continue
            t = reading.last_seen.timestamp()
            points = self._points.get(reading.vehicle_id)
            if points is None:
                points = self._points[reading.vehicle_id] = array("d")
            elif points[-2] >= t:
                continue
            points.extend((t, reading.soc_percent))
            if len(points) > 2 * self._per_vehicle:
                del points[:2]

    def __call__(self, vehicle_id: str) -> Sequence[tuple[datetime, float]]:
        points = self._points.get(vehicle_id, array("d"))
        return [
            (datetime.fromtimestamp(points[i], UTC), points[i + 1])
            for i in range(0, len(points), 2)
        ]
