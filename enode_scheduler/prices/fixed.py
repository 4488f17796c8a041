"""A fixed time-of-use tariff: no spot market, the tariff alone makes the price."""

from __future__ import annotations

from datetime import datetime, timedelta

from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.normalise import HOUR, as_utc
from enode_scheduler.prices.zones import get_zone

# Far enough for any plan; a fixed tariff is "published" for every future hour.
MAX_SPAN = timedelta(days=366)


class FixedPriceSource:
    """PriceSource whose spot is 0 in every hour; `Tariff` then adds the fixed energy price
    (supplier_markup_per_kwh, with VAT) and the time-of-use fees.
    """

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        get_zone(zone)
        start, end = as_utc(start), as_utc(end)
        end = min(end, start + MAX_SPAN)
        first = start.replace(minute=0, second=0, microsecond=0)
        count = -(-(end - first) // HOUR)
        return [Slot(first + HOUR * i, first + HOUR * (i + 1), 0.0) for i in range(count)]
