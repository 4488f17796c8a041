"""Recent SoC readings per vehicle, kept in memory by the daemon for the car page's chart.

The store keeps only the latest reading per vehicle; the chart wants the readings since the plan
was made. A bounded ring per vehicle is enough for that, and costs nothing to lose on a restart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime

from enode_scheduler.records import VehicleReading

__all__ = ["SocHistory"]


class SocHistory:
    """The last `per_vehicle` (last_seen, SoC) readings of each vehicle, oldest first."""

    def __init__(self, per_vehicle: int = 288) -> None:
        self._per_vehicle = per_vehicle
        self._points: dict[str, deque[tuple[datetime, float]]] = {}

    def observe(self, readings: Iterable[VehicleReading | None]) -> None:
        """Record readings not seen before (same `last_seen` is the same reading)."""
        for reading in readings:
            if reading is None or reading.last_seen is None or reading.soc_percent is None:
                continue
            ring = self._points.get(reading.vehicle_id)
            if ring is None:
                ring = self._points[reading.vehicle_id] = deque(maxlen=self._per_vehicle)
            if ring and ring[-1][0] >= reading.last_seen:
                continue
            ring.append((reading.last_seen, reading.soc_percent))

    def __call__(self, vehicle_id: str) -> Sequence[tuple[datetime, float]]:
        return tuple(self._points.get(vehicle_id, ()))
