"""Real prices for any date: a price file's days laid onto the requested ones.

For trying the daemon out (against the fake Enode, on today's date or a simulated one) when the
only prices at hand are a file of some other weeks. Each requested slot takes the price the file
has for the same weekday at the same local wall-clock time in the zone, so the evening peak and
the cheap night stay where they were; a weekday the file lacks borrows the latest day it has.
Never use it with a real car: the prices are real, but not today's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.file import FilePriceSource
from enode_scheduler.prices.normalise import as_utc
from enode_scheduler.prices.zones import get_zone

# (weekday, minute of the local day)
_Key = tuple[int, int]


class ReplayPriceSource:
    """PriceSource that replays a price file (or the packaged data) onto any dates."""

    def __init__(self, path: Path | None = None) -> None:
        self._file = FilePriceSource(path)
        self._tables: dict[str, tuple[dict[_Key, float], dict[int, float], timedelta]] = {}

    @property
    def path(self) -> Path:
        return self._file.path

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        start, end = as_utc(start), as_utc(end)
        info = get_zone(zone)
        if info.name not in self._tables:
            self._tables[info.name] = _table(await self._file.series(info.name), info.timezone)
        by_weekday, by_minute, step = self._tables[info.name]
        tz = ZoneInfo(info.timezone)
        # Slots on the file's own grid, counted from the Unix epoch so consecutive fetches align.
        step_s = step.total_seconds()
        cursor = datetime.fromtimestamp(start.timestamp() // step_s * step_s, tz=start.tzinfo)
        slots = []
        while cursor < end:
            local = cursor.astimezone(tz)
            minute = local.hour * 60 + local.minute
            price = by_weekday.get((local.weekday(), minute), by_minute.get(minute))
            if price is None:  # a wall time the file never shows (a DST gap): the one before
                price = by_minute[max((m for m in by_minute if m <= minute), default=0)]
            slots.append(Slot(cursor, cursor + step, price))
            cursor += step
        return slots


def _table(
    series: list[Slot], timezone: str
) -> tuple[dict[_Key, float], dict[int, float], timedelta]:
    """Prices by (weekday, local minute), by local minute alone (the latest day wins), and the
    file's slot length (its finest)."""
    tz = ZoneInfo(timezone)
    step = min(s.end - s.start for s in series)
    by_weekday: dict[_Key, float] = {}
    by_minute: dict[int, float] = {}
    for slot in series:
        cursor = slot.start
        while cursor < slot.end:
            local = cursor.astimezone(tz)
            minute = local.hour * 60 + local.minute
            # The first occurrence wins within a weekday (the repeated hour of a DST end).
            by_weekday.setdefault((local.weekday(), minute), slot.price_per_kwh)
            by_minute[minute] = slot.price_per_kwh
            cursor += step
    return by_weekday, by_minute, step
