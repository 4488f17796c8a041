from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from enode_scheduler.config import TariffSettings, TimeOfUseFee
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.tariff import Tariff

# A Norwegian-style tariff: 0.05/kWh supplier markup, 25 % VAT, a weekday day rate 06-22 and a
# cheaper rate otherwise. Fees are consumer prices (VAT included), added after VAT.
SETTINGS = TariffSettings(
    supplier_markup_per_kwh=0.05,
    vat=0.25,
    grid_fees=(
        TimeOfUseFee(
            name="day",
            price_per_kwh=0.045,
            days=("mon", "tue", "wed", "thu", "fri"),
            start=time(6),
            end=time(22),
        ),
        TimeOfUseFee(name="rest", price_per_kwh=0.035),
    ),
    timezone="Europe/Oslo",
)


def slot(start: datetime, spot_per_mwh: float) -> Slot:
    return Slot(start, start + timedelta(hours=1), spot_per_mwh / 1000)


@pytest.mark.parametrize(
    ("start", "spot_per_mwh", "expected"),
    [
        # Tue 08:00 Oslo: (0.04898 + 0.05) * 1.25 + 0.045 = 0.123725 + 0.045
        (datetime(2024, 3, 5, 7, tzinfo=UTC), 48.98, 0.168725),
        # Tue 23:00 Oslo, negative spot: (-0.005 + 0.05) * 1.25 + 0.035 = 0.05625 + 0.035
        (datetime(2024, 3, 5, 22, tzinfo=UTC), -5.00, 0.09125),
        # Sat 08:00 Oslo is not a weekday: (0.1 + 0.05) * 1.25 + 0.035 = 0.1875 + 0.035
        (datetime(2024, 3, 9, 7, tzinfo=UTC), 100.0, 0.2225),
        # Mon 06:00 CEST just after the spring change (04:00 UTC): day rate. 0.0625 + 0.045
        (datetime(2024, 4, 1, 4, tzinfo=UTC), 0.0, 0.1075),
        # Fri 05:00 CET before the change (04:00 UTC): still night. 0.0625 + 0.035
        (datetime(2024, 3, 29, 4, tzinfo=UTC), 0.0, 0.0975),
        # Wed 22:00 Oslo: the day rate ends at 22:00 (exclusive). (0.5 + 0.05) * 1.25 + 0.035
        (datetime(2024, 3, 6, 21, tzinfo=UTC), 500.0, 0.7225),
    ],
    ids=["weekday-day", "night-negative", "saturday", "after-dst", "before-dst", "day-end"],
)
def test_price_is_markup_and_vat_on_spot_plus_fee(
    start: datetime, spot_per_mwh: float, expected: float
) -> None:
    tariff = Tariff.from_settings(SETTINGS)
    assert tariff.price_per_kwh(slot(start, spot_per_mwh)) == pytest.approx(expected, abs=1e-12)


def test_apply_keeps_times_and_prices_each_slot() -> None:
    tariff = Tariff.from_settings(SETTINGS)
    raw = [
        slot(datetime(2024, 3, 5, 7, tzinfo=UTC), 48.98),
        slot(datetime(2024, 3, 5, 8, tzinfo=UTC), 10.0),
    ]
    priced = tariff.apply(raw)
    assert [(s.start, s.end) for s in priced] == [(s.start, s.end) for s in raw]
    # (0.01 + 0.05) * 1.25 + 0.045 = 0.12
    assert [s.price_per_kwh for s in priced] == pytest.approx([0.168725, 0.12])


def test_fee_over_midnight_belongs_to_the_start_weekday() -> None:
    night = TimeOfUseFee(
        name="night", price_per_kwh=0.01, days=("fri",), start=time(22), end=time(6)
    )
    tariff = Tariff.from_settings(TariffSettings(grid_fees=(night,)), zone_timezone="Europe/Oslo")
    # Fri 23:00 and Fri 03:00 Oslo are Friday; Sat 03:00 is not.
    fri_late = slot(datetime(2024, 3, 8, 22, tzinfo=UTC), 0.0)
    fri_early = slot(datetime(2024, 3, 8, 2, tzinfo=UTC), 0.0)
    sat_early = slot(datetime(2024, 3, 9, 2, tzinfo=UTC), 0.0)
    assert [tariff.grid_fee_per_kwh(s) for s in (fri_late, fri_early, sat_early)] == [
        0.01,
        0.01,
        0.0,
    ]


def test_no_tariff_is_the_raw_spot() -> None:
    tariff = Tariff.from_settings(TariffSettings())
    assert tariff.price_per_kwh(slot(datetime(2024, 1, 1, tzinfo=UTC), 123.45)) == pytest.approx(
        0.12345
    )


def test_zone_time_zone_is_used_when_the_tariff_names_none() -> None:
    assert (
        Tariff.from_settings(TariffSettings(), zone_timezone="Europe/Berlin").timezone
        == "Europe/Berlin"
    )
    assert Tariff.from_settings(SETTINGS, zone_timezone="Europe/Berlin").timezone == "Europe/Oslo"
