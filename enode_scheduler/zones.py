"""Bidding zones by short name: ENTSO-E EIC code, Nord Pool delivery area and market time zone.

A leaf module (stdlib and `exceptions` only): config checks zone names against it, the price
sources look zones up in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from enode_scheduler.exceptions import InvalidInput


@dataclass(frozen=True, slots=True)
class Zone:
    """A day-ahead bidding zone; `timezone` is where its users read the delivery day."""

    name: str
    eic: str
    nordpool_area: str | None
    timezone: str

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC interval of a local delivery day (23, 24 or 25 hours long)."""
        tz = ZoneInfo(self.timezone)
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def local_day(self, when: datetime) -> date:
        """The local calendar day `when` falls on."""
        return when.astimezone(ZoneInfo(self.timezone)).date()


def _zone(name: str, eic: str, area: str | None, tz: str) -> tuple[str, Zone]:
    return name, Zone(name=name, eic=eic, nordpool_area=area, timezone=tz)


# EIC codes of the bidding zones (ENTSO-E "BZN|" areas) and Nord Pool's delivery-area names.
ZONES: dict[str, Zone] = dict(
    [
        _zone("NO1", "10YNO-1--------2", "NO1", "Europe/Oslo"),
        _zone("NO2", "10YNO-2--------T", "NO2", "Europe/Oslo"),
        _zone("NO3", "10YNO-3--------J", "NO3", "Europe/Oslo"),
        _zone("NO4", "10YNO-4--------9", "NO4", "Europe/Oslo"),
        _zone("NO5", "10Y1001A1001A48H", "NO5", "Europe/Oslo"),
        _zone("SE1", "10Y1001A1001A44P", "SE1", "Europe/Stockholm"),
        _zone("SE2", "10Y1001A1001A45N", "SE2", "Europe/Stockholm"),
        _zone("SE3", "10Y1001A1001A46L", "SE3", "Europe/Stockholm"),
        _zone("SE4", "10Y1001A1001A47J", "SE4", "Europe/Stockholm"),
        _zone("DK1", "10YDK-1--------W", "DK1", "Europe/Copenhagen"),
        _zone("DK2", "10YDK-2--------M", "DK2", "Europe/Copenhagen"),
        _zone("FI", "10YFI-1--------U", "FI", "Europe/Helsinki"),
        _zone("EE", "10Y1001A1001A39I", "EE", "Europe/Tallinn"),
        _zone("LV", "10YLV-1001A00074", "LV", "Europe/Riga"),
        _zone("LT", "10YLT-1001A0008Q", "LT", "Europe/Vilnius"),
        _zone("DE_LU", "10Y1001A1001A82H", "GER", "Europe/Berlin"),
        _zone("NL", "10YNL----------L", "NL", "Europe/Amsterdam"),
        _zone("BE", "10YBE----------2", "BE", "Europe/Brussels"),
        _zone("FR", "10YFR-RTE------C", "FR", "Europe/Paris"),
        _zone("AT", "10YAT-APG------L", "AT", "Europe/Vienna"),
        _zone("PL", "10YPL-AREA-----S", "PL", "Europe/Warsaw"),
        _zone("CH", "10YCH-SWISSGRIDZ", None, "Europe/Zurich"),
        _zone("ES", "10YES-REE------0", None, "Europe/Madrid"),
        _zone("PT", "10YPT-REN------W", None, "Europe/Lisbon"),
    ]
)


def get_zone(name: str) -> Zone:
    """The zone called `name` (case-insensitive; `DE-LU` and `DE_LU` both work)."""
    key = name.strip().upper().replace("-", "_")
    try:
        return ZONES[key]
    except KeyError:
        known = ", ".join(ZONES)
        raise InvalidInput(f"unknown price zone {name!r}; known zones: {known}") from None
