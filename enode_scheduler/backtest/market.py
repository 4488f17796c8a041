"""A price series with look-ups by time, and when day-ahead prices become known.

Day-ahead prices for local day D+1 are published about 12:45 on day D in the market's zone
(Europe/Brussels time, the same clock as CET/CEST); before that only day D is known.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from enode_scheduler.planner.goals import local_to_utc
from enode_scheduler.planner.models import Slot

PUBLICATION_TIME = time(12, 45)
MARKET_ZONE = "Europe/Brussels"
_ZONES = {
    "NO": "Europe/Oslo",
    "SE": "Europe/Stockholm",
    "DK": "Europe/Copenhagen",
    "DE": "Europe/Berlin",
    "NL": "Europe/Amsterdam",
    "FR": "Europe/Paris",
}


def zone_of(price_name: str) -> str:
    """The local zone of a bidding zone named like `NO2_2024` (falls back to Europe/Brussels)."""
    return _ZONES.get(price_name[:2].upper(), MARKET_ZONE)


class PriceSeries:
    """Contiguous slots sorted by start, with slicing and exact interval costs."""

    def __init__(self, slots: Sequence[Slot]) -> None:
        self.slots = list(slots)
        self.starts = [s.start for s in self.slots]
        self.ends = [s.end for s in self.slots]
        self.first = self.slots[0].start
        self.last = self.slots[-1].end

    def between(self, start: datetime, end: datetime) -> list[Slot]:
        """The slots that overlap [start, end)."""
        return self.slots[bisect_right(self.ends, start) : bisect_left(self.starts, end)]

    def cost(self, start: datetime, end: datetime, power_kw: float) -> float:
        """Cost of drawing `power_kw` over [start, end)."""
        total = 0.0
        for slot in self.between(start, end):
            seconds = (min(end, slot.end) - max(start, slot.start)).total_seconds()
            total += slot.price_per_kwh * seconds
        return total * power_kw / 3600.0

    def co2_kg(self, start: datetime, end: datetime, power_kw: float) -> float:
        """kg CO2 of drawing `power_kw` over [start, end) (slots without an intensity: 0 g)."""
        grams = 0.0
        for slot in self.between(start, end):
            seconds = (min(end, slot.end) - max(start, slot.start)).total_seconds()
            grams += (slot.g_co2_per_kwh or 0.0) * seconds
        return grams * power_kw / 3600.0 / 1000.0

    def known_at(self, moment: datetime) -> datetime:
        """The end of the prices published by `moment` (see module docstring)."""
        zone = ZoneInfo(MARKET_ZONE)
        today = moment.astimezone(zone).date()
        published = moment >= local_to_utc(today, PUBLICATION_TIME, zone)
        return local_to_utc(today + timedelta(days=2 if published else 1), time(0), zone)

    def publications(self, start: datetime, end: datetime) -> list[datetime]:
        """Publication moments strictly inside (start, end)."""
        zone = ZoneInfo(MARKET_ZONE)
        day: date = start.astimezone(zone).date()
        out = []
        while (moment := local_to_utc(day, PUBLICATION_TIME, zone)) < end:
            if moment > start:
                out.append(moment)
            day += timedelta(days=1)
        return out
