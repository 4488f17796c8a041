"""The price refresh job: after the day-ahead publication, fetch tomorrow until it is known.

The daemon schedules `run_once` at `next_run_after(now)` (or runs `run_forever` on a Clock). A
failing source keeps what is stored and is logged once per failure streak, and once on recovery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog

from enode_scheduler.exceptions import PriceError, PricesNotPublished
from enode_scheduler.planner.models import Slot
from enode_scheduler.ports import Clock, PriceSlotStore, PriceSource
from enode_scheduler.prices.zones import Zone, get_zone

if TYPE_CHECKING:
    from enode_scheduler.config import PricesSettings

log = structlog.get_logger()

NewSlotsCallback = Callable[[str, list[Slot]], Awaitable[None]]


_MISSING_HINTS = {
    "file": (
        "prices.file.path and prices.zone: a file holds only its own dates; "
        'prices.source = "replay" lays them onto any date for a trial run'
    ),
    "entsoe": "prices.entsoe.security_token and prices.zone, and that ENTSO-E has published",
    "nordpool": "prices.zone (a Nord Pool delivery area) and prices.nordpool.currency",
}


class RefreshStatus(StrEnum):
    COMPLETE = "complete"  # tomorrow is stored
    WAITING = "waiting"  # the source has not published tomorrow yet
    FAILED = "failed"  # the source failed; stored slots are kept


@dataclass(frozen=True, slots=True)
class RefreshOutcome:
    """What one run did, and when the job wants to run next."""

    status: RefreshStatus
    changed_slots: int
    next_run_at: datetime
    error: str | None = None


class PriceRefreshJob:
    """Fetches today and tomorrow (market local days) for one zone and upserts them.

    `on_new_slots(zone, slots)` is awaited whenever the store reports new or changed slots.
    """

    def __init__(
        self,
        *,
        zone: str,
        source: PriceSource,
        store: PriceSlotStore,
        clock: Clock,
        publication_time: time = time(13, 0),
        publication_timezone: str = "Europe/Brussels",
        retry_interval_s: float = 600.0,
        retry_max_interval_s: float = 3600.0,
        on_new_slots: NewSlotsCallback | None = None,
        source_name: str = "source",
    ) -> None:
        self.zone: Zone = get_zone(zone)
        self._source_name = source_name
        self._missing_warned_on: date | None = None
        self._source = source
        self._store = store
        self._clock = clock
        self._publication_time = publication_time
        self._publication_tz = ZoneInfo(publication_timezone)
        self._retry_interval_s = retry_interval_s
        self._retry_max_interval_s = retry_max_interval_s
        self._on_new_slots = on_new_slots
        self._misses = 0  # consecutive runs after publication without tomorrow
        self._failing = False
        self._retry_at: datetime | None = None

    @classmethod
    def from_settings(
        cls,
        settings: PricesSettings,
        *,
        source: PriceSource,
        store: PriceSlotStore,
        clock: Clock,
        on_new_slots: NewSlotsCallback | None = None,
    ) -> PriceRefreshJob:
        return cls(
            zone=settings.zone,
            source=source,
            store=store,
            clock=clock,
            publication_time=settings.publication_time,
            publication_timezone=settings.publication_timezone,
            retry_interval_s=settings.retry_interval_s,
            retry_max_interval_s=settings.retry_max_interval_s,
            on_new_slots=on_new_slots,
            source_name=settings.source,
        )

    async def run_once(self, now: datetime) -> RefreshOutcome:
        """Fetch, store and report; never raises a PriceError (it becomes a FAILED outcome)."""
        today = self.zone.local_day(now)
        start, _ = self.zone.day_bounds(today)
        _, end = self.zone.day_bounds(today + timedelta(days=1))
        detail = None
        try:
            slots = await self._source.fetch(self.zone.name, start=start, end=end)
        except PricesNotPublished as exc:
            slots, detail = [], str(exc)
        except PriceError as exc:
            return self._failed(now, exc)
        self._warn_if_now_missing(now, slots, end=end, detail=detail)
        changed = await self._store_slots(slots)
        if slots and slots[-1].end >= end:
            return self._complete(now, changed)
        return self._waiting(now, changed, until=end)

    def _warn_if_now_missing(
        self, now: datetime, slots: list[Slot], *, end: datetime, detail: str | None
    ) -> None:
        """Once per local day: the source has nothing for the coming hours, so nothing can be
        planned until it has (a price file of other dates, a wrong zone or token)."""
        if any(s.start <= now < s.end for s in slots):
            return
        today = self.zone.local_day(now)
        if self._missing_warned_on == today:
            return
        self._missing_warned_on = today
        until = next((s.start for s in slots if s.start > now), end)
        log.warning(
            "prices_missing",
            zone=self.zone.name,
            source=self._source_name,
            missing_from=now.isoformat(),
            missing_until=until.isoformat(),
            detail=detail,
            check=_MISSING_HINTS.get(self._source_name, "the price source's settings"),
        )

    def next_run_after(self, now: datetime) -> datetime:
        """When to run next: the pending retry, else the next publication time after `now`."""
        if self._retry_at is not None:
            return max(now, self._retry_at)
        return self.next_publication_after(now)

    def next_publication_after(self, now: datetime) -> datetime:
        """The first publication instant strictly after `now`."""
        day = now.astimezone(self._publication_tz).date()
        for offset in range(3):
            candidate = self._publication_at(day + timedelta(days=offset))
            if candidate > now:
                return candidate
        raise AssertionError("a publication time is always within two days")

    async def run_forever(self) -> None:
        """Run at every `next_run_at` on the injected clock until cancelled."""
        while True:
            outcome = await self.run_once(self._clock.now())
            wait_s = (outcome.next_run_at - self._clock.now()).total_seconds()
            await self._clock.sleep(max(0.0, wait_s))

    async def _store_slots(self, slots: list[Slot]) -> int:
        if not slots:
            return 0
        changed = await self._store.upsert_slots(self.zone.name, slots)
        if changed:
            log.info("prices_stored", zone=self.zone.name, changed=changed, until=slots[-1].end)
            if self._on_new_slots is not None:
                await self._on_new_slots(self.zone.name, slots)
        return changed

    def _complete(self, now: datetime, changed: int) -> RefreshOutcome:
        if self._failing:
            log.info("price_refresh_recovered", zone=self.zone.name, misses=self._misses)
        self._misses, self._failing, self._retry_at = 0, False, None
        next_run_at = self.next_publication_after(now)
        return RefreshOutcome(RefreshStatus.COMPLETE, changed, next_run_at)

    def _waiting(self, now: datetime, changed: int, *, until: datetime) -> RefreshOutcome:
        published_at = self._publication_at(now.astimezone(self._publication_tz).date())
        if now < published_at:
            # Nothing to retry before the auction results are due.
            self._retry_at = published_at
            return RefreshOutcome(RefreshStatus.WAITING, changed, published_at)
        if self._failing:
            log.info("price_refresh_recovered", zone=self.zone.name, misses=self._misses)
            self._failing = False
        if self._misses == 0:
            log.info("prices_not_published_yet", zone=self.zone.name, until=until)
        return RefreshOutcome(RefreshStatus.WAITING, changed, self._schedule_retry(now))

    def _failed(self, now: datetime, exc: PriceError) -> RefreshOutcome:
        if not self._failing:
            log.warning("price_refresh_failed", zone=self.zone.name, error=str(exc))
        self._failing = True
        return RefreshOutcome(RefreshStatus.FAILED, 0, self._schedule_retry(now), error=str(exc))

    def _schedule_retry(self, now: datetime) -> datetime:
        self._misses += 1
        delay_s = self._retry_interval_s * 2 ** min(self._misses - 1, 30)
        self._retry_at = now + timedelta(seconds=min(delay_s, self._retry_max_interval_s))
        return self._retry_at

    def _publication_at(self, day: date) -> datetime:
        local = datetime.combine(day, self._publication_time, tzinfo=self._publication_tz)
        return local.astimezone(UTC)
