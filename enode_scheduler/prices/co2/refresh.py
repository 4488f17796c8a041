"""The intensity refresh job: fetch the forecast every `refresh_interval_s` and store it.

Forecasts change all day (UK every half hour, Electricity Maps hourly), so unlike prices there is
no publication time: the job asks for [now - 1 h, now + horizon] at a fixed interval. A failing
source keeps what is stored and is logged once per failure streak, and once on recovery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from enode_scheduler.exceptions import PriceError
from enode_scheduler.ports import IntensitySlotStore, IntensitySource

log = structlog.get_logger()

NewIntensityCallback = Callable[[str], Awaitable[None]]


class IntensityRefreshJob:
    """Fetches one region's intensity forecast and upserts it; `on_new(zone)` after a change."""

    def __init__(
        self,
        *,
        zone: str,
        source: IntensitySource,
        store: IntensitySlotStore,
        interval_s: float = 1800.0,
        horizon_h: float = 48.0,
        on_new: NewIntensityCallback | None = None,
    ) -> None:
        self.zone = zone
        self._source = source
        self._store = store
        self._interval = timedelta(seconds=interval_s)
        self._horizon = timedelta(hours=horizon_h)
        self._on_new = on_new
        self._failing = False

    async def run_once(self, now: datetime) -> int:
        """Fetch and store; the number of new or changed slots. Never raises a PriceError."""
        try:
            slots = await self._source.fetch(
                start=now - timedelta(hours=1), end=now + self._horizon
            )
        except PriceError as exc:
            if not self._failing:
                log.warning("co2_refresh_failed", zone=self.zone, error=str(exc))
            self._failing = True
            return 0
        if self._failing:
            log.info("co2_refresh_recovered", zone=self.zone)
            self._failing = False
        changed = await self._store.upsert_intensity(self.zone, slots) if slots else 0
        if changed:
            log.info("co2_stored", zone=self.zone, changed=changed, until=slots[-1].end)
            if self._on_new is not None:
                await self._on_new(self.zone)
        return changed

    def next_run_after(self, now: datetime) -> datetime:
        return now + self._interval
