from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.exceptions import PriceFormatError
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.nordpool import delivery_days, parse_nordpool_json
from enode_scheduler.prices.zones import get_zone

RealPrices = Callable[[str, datetime, datetime], list[Slot]]


def load(fixtures_dir: Path, name: str) -> object:
    return json.loads((fixtures_dir / name).read_text())


@pytest.mark.parametrize(
    ("name", "area", "day", "real_file", "count"),
    [
        ("nordpool_2024-03-05_NO2_SE4.json", "NO2", date(2024, 3, 5), "NO2_2024.csv", 24),
        ("nordpool_2024-03-05_NO2_SE4.json", "SE4", date(2024, 3, 5), "SE4_2024.csv", 24),
        ("nordpool_2024-10-27_NO2_dst25.json", "NO2", date(2024, 10, 27), "NO2_2024.csv", 25),
        (
            "nordpool_2025-10-26_NO1_dst100.json",
            "NO1",
            date(2025, 10, 26),
            "NO1_2025_15min.csv",
            100,
        ),
    ],
    ids=["normal-NO2", "normal-SE4", "dst-25h", "dst-100-quarters"],
)
def test_days_parse_to_the_real_prices(
    fixtures_dir: Path,
    real_prices: RealPrices,
    name: str,
    area: str,
    day: date,
    real_file: str,
    count: int,
) -> None:
    slots = parse_nordpool_json(load(fixtures_dir, name), area=area, currency="EUR")
    start, end = get_zone(area).day_bounds(day)
    assert len(slots) == count
    assert (slots[0].start, slots[-1].end) == (start, end)
    assert slots == real_prices(real_file, start, end)


def test_missing_area_is_a_format_error_naming_it(fixtures_dir: Path) -> None:
    with pytest.raises(PriceFormatError, match="no prices for delivery area NO1"):
        parse_nordpool_json(load(fixtures_dir, "nordpool_2024-03-05_NO2_SE4.json"), area="NO1")


def test_other_currency_than_asked_is_refused(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, "nordpool_2024-03-05_NO2_SE4.json")
    with pytest.raises(PriceFormatError, match="asked for NOK, answer is in EUR"):
        parse_nordpool_json(payload, area="NO2", currency="NOK")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "no multiAreaEntries"),
        ({"multiAreaEntries": [{"deliveryStart": "soon", "deliveryEnd": "later",
                                "entryPerArea": {"NO2": 1.0}}]}, "bad deliveryStart"),
        ({"multiAreaEntries": [{"deliveryStart": 5, "deliveryEnd": [],
                                "entryPerArea": {"NO2": 1.0}}]}, "deliveryStart is not a string"),
        ({"multiAreaEntries": [3, "x"]}, "is not an object"),
        ({"multiAreaEntries": [{"entryPerArea": ["NO2", 1.0]}]}, "entryPerArea .* not an object"),
    ],
)  # fmt: skip
def test_broken_answers_are_format_errors(payload: object, message: str) -> None:
    with pytest.raises(PriceFormatError, match=message):
        parse_nordpool_json(payload, area="NO2")


def test_empty_entries_are_no_slots() -> None:
    assert parse_nordpool_json({"multiAreaEntries": []}, area="NO2") == []


def test_delivery_days_are_cet_days() -> None:
    start = datetime(2024, 3, 4, 23, tzinfo=UTC)
    assert delivery_days(start, start + timedelta(days=1)) == [date(2024, 3, 5)]
    assert delivery_days(start, start + timedelta(days=1, minutes=1)) == [
        date(2024, 3, 5),
        date(2024, 3, 6),
    ]


def test_a_row_without_a_number_keeps_its_place_as_nan() -> None:
    entry = {
        "deliveryStart": "2024-01-01T00:00:00Z",
        "deliveryEnd": "2024-01-01T01:00:00Z",
        "entryPerArea": {"NO2": None},
    }
    (slot,) = parse_nordpool_json({"multiAreaEntries": [entry]}, area="NO2")
    assert math.isnan(slot.price_per_kwh)


_json = st.recursive(
    st.none() | st.booleans() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(["multiAreaEntries", "entryPerArea", "deliveryStart", "deliveryEnd",
                         "NO2", "currency", "x"]),
        children,
        max_size=4,
    ),
    max_leaves=20,
)  # fmt: skip


@given(payload=_json)
def test_any_json_is_slots_or_a_format_error(payload: object) -> None:
    try:
        slots = parse_nordpool_json(payload, area="NO2")
    except PriceFormatError:
        return
    assert all(isinstance(s, Slot) for s in slots)
