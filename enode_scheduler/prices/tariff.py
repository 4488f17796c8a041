"""What a household pays per kWh, from the raw spot price and the configured tariff."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from enode_scheduler.planner.models import Slot

if TYPE_CHECKING:
    from enode_scheduler.config import TariffSettings, TimeOfUseFee

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class GridFee:
    """A time-of-use fee: `price_per_kwh` on `weekdays` (0 = Monday) from `start` to `end` local."""

    name: str
    price_per_kwh: float
    weekdays: frozenset[int]
    start: time
    end: time

    def matches(self, weekday: int, at: time) -> bool:
        """Whether a slot starting on `weekday` at local time `at` pays this fee."""
        if weekday not in self.weekdays:
            return False
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end

    @classmethod
    def from_settings(cls, fee: TimeOfUseFee) -> GridFee:
        weekdays = frozenset(_WEEKDAYS.index(day) for day in fee.days)
        return cls(fee.name, fee.price_per_kwh, weekdays, fee.start, fee.end)


@dataclass(frozen=True, slots=True)
class Tariff:
    """price_per_kwh = (spot_per_kwh + supplier_markup_per_kwh) * (1 + vat) + grid fee.

    The grid fee is added after VAT: it is configured as the consumer price the grid operator
    publishes, VAT included. The fee is the first in `grid_fees` matching the slot's local start.
    """

    supplier_markup_per_kwh: float = 0.0
    vat: float = 0.0
    grid_fees: tuple[GridFee, ...] = ()
    timezone: str = "UTC"

    @classmethod
    def from_settings(cls, settings: TariffSettings, *, zone_timezone: str = "UTC") -> Tariff:
        """Build from config; fees use `settings.timezone`, else the price zone's time zone."""
        return cls(
            supplier_markup_per_kwh=settings.supplier_markup_per_kwh,
            vat=settings.vat,
            grid_fees=tuple(GridFee.from_settings(fee) for fee in settings.grid_fees),
            timezone=settings.timezone or zone_timezone,
        )

    def price_per_kwh(self, slot: Slot) -> float:
        """What one kWh drawn in `slot` costs, given the raw spot in `slot.price_per_kwh`."""
        energy = (slot.price_per_kwh + self.supplier_markup_per_kwh) * (1.0 + self.vat)
        return energy + self.grid_fee_per_kwh(slot)

    def grid_fee_per_kwh(self, slot: Slot) -> float:
        """The time-of-use grid fee at the slot's local start; 0 when no fee matches."""
        local = slot.start.astimezone(ZoneInfo(self.timezone))
        for fee in self.grid_fees:
            if fee.matches(local.weekday(), local.time()):
                return fee.price_per_kwh
        return 0.0

    def apply(self, slots: Sequence[Slot]) -> list[Slot]:
        """The same slots priced at what the household pays per kWh."""
        return [replace(slot, price_per_kwh=self.price_per_kwh(slot)) for slot in slots]
