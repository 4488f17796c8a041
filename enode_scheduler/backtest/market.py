"""A price series with look-ups by time, and when day-ahead prices become known.

Day-ahead prices for local day D+1 are published about 12:45 on day D in the market's zone
(Europe/Brussels time, the same clock as CET/CEST); before that only day D is known.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from itertools import takewhile
from pathlib import Path
from zoneinfo import ZoneInfo

from enode_scheduler.exceptions import InvalidInput
from enode_scheduler.planner.goals import local_to_utc
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.zones import ZONES, get_zone

PUBLICATION_TIME = time(12, 45)
MARKET_ZONE = "Europe/Brussels"


def zone_of(price_file: str, given: str | None = None) -> str:
    """The local time zone of a price series: of the zone `given`, else of the zone its file is
    named after (`NO2_2024.csv`, `DE_LU_2024.csv`, `NO1_2025_15min.csv`); InvalidInput otherwise.
    """
    if given is not None:
        return get_zone(given).timezone
    stem = Path(price_file).name.split(".")[0]
    name = "_".join(takewhile(lambda part: not _is_year(part), stem.split("_")))
    try:
        return get_zone(name).timezone
    except InvalidInput:
        raise InvalidInput(
            f"{price_file}: no known price zone in the file name ({name!r}); name it like "
            f"NO2_2024.csv or pass --zone (known zones: {', '.join(ZONES)})"
        ) from None


def _is_year(part: str) -> bool:
    return len(part) == 4 and part.isdigit()


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
