from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.exceptions import PriceFormatError, PricesNotPublished, PriceSourceUnavailable
from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.entsoe import expand_positions, parse_entsoe_document
from enode_scheduler.prices.zones import get_zone

RealPrices = Callable[[str, datetime, datetime], list[Slot]]


def parse(fixtures_dir: Path, name: str) -> list[Slot]:
    return parse_entsoe_document((fixtures_dir / name).read_bytes())


def assert_gap_free(slots: list[Slot], step: timedelta) -> None:
    assert all(a.end == b.start for a, b in itertools.pairwise(slots))
    assert {s.end - s.start for s in slots} == {step}


@pytest.mark.parametrize(
    ("name", "zone", "day", "real_file", "step", "count"),
    [
        pytest.param(
            "entsoe_NO2_2024-03-05_PT60M_A01.xml", "NO2", date(2024, 3, 5),
            "NO2_2024.csv", timedelta(hours=1), 24, id="60min-A01",
        ),
        pytest.param(
            "entsoe_NO1_2025-10-15_PT15M_A03.xml", "NO1", date(2025, 10, 15),
            "NO1_2025_15min.csv", timedelta(minutes=15), 96, id="15min-A03",
        ),
        pytest.param(
            "entsoe_DE_LU_2024-03-31_PT60M_dst23.xml", "DE_LU", date(2024, 3, 31),
            "DE_LU_2024.csv", timedelta(hours=1), 23, id="spring-23h",
        ),
        pytest.param(
            "entsoe_NO2_2024-10-27_PT60M_dst25.xml", "NO2", date(2024, 10, 27),
            "NO2_2024.csv", timedelta(hours=1), 25, id="autumn-25h",
        ),
        pytest.param(
            "entsoe_NO1_2025-10-26_PT15M_dst100.xml", "NO1", date(2025, 10, 26),
            "NO1_2025_15min.csv", timedelta(minutes=15), 100, id="autumn-100-quarters",
        ),
    ],
)  # fmt: skip
def test_documents_give_the_real_local_day(
    fixtures_dir: Path,
    real_prices: RealPrices,
    name: str,
    zone: str,
    day: date,
    real_file: str,
    step: timedelta,
    count: int,
) -> None:
    slots = parse(fixtures_dir, name)
    start, end = get_zone(zone).day_bounds(day)
    assert len(slots) == count
    assert (slots[0].start, slots[-1].end) == (start, end)
    assert_gap_free(slots, step)
    assert slots == real_prices(real_file, start, end)


def test_a03_spring_day_carries_hourly_prices_into_92_quarters(
    fixtures_dir: Path, real_prices: RealPrices
) -> None:
    slots = parse(fixtures_dir, "entsoe_NO1_2025-03-30_PT15M_dst92.xml")
    start, end = get_zone("NO1").day_bounds(date(2025, 3, 30))
    hours = real_prices("NO1_2025.csv", start, end)
    assert len(slots) == 92
    assert_gap_free(slots, timedelta(minutes=15))
    assert [s.price_per_kwh for s in slots] == [h.price_per_kwh for h in hours for _ in range(4)]


def test_several_timeseries_and_periods_join_and_intraday_is_ignored(
    fixtures_dir: Path, real_prices: RealPrices
) -> None:
    slots = parse(fixtures_dir, "entsoe_DE_LU_2024-07-01_3days_multi.xml")
    start = datetime(2024, 6, 30, 22, tzinfo=UTC)
    end = start + timedelta(days=3)
    assert len(slots) == 72
    assert slots == real_prices("DE_LU_2024.csv", start, end)
    assert all(s.price_per_kwh != pytest.approx(0.99999) for s in slots)


def test_acknowledgement_without_data_means_not_published(fixtures_dir: Path) -> None:
    with pytest.raises(PricesNotPublished, match="No matching data found"):
        parse(fixtures_dir, "entsoe_acknowledgement_no_data.xml")


def test_other_acknowledgement_is_a_refusal(fixtures_dir: Path) -> None:
    with pytest.raises(PriceSourceUnavailable, match="exceeds allowed limit"):
        parse(fixtures_dir, "entsoe_acknowledgement_too_much.xml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "malformed XML"),
        (b"<html><body>Service unavailable</body></html>", "unexpected document 'html'"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "unsafe XML refused: DTDForbidden"),
    ],
)
def test_bad_documents_are_format_errors(
    fixtures_dir: Path, body: bytes | None, message: str
) -> None:
    data = body or (fixtures_dir / "entsoe_malformed_truncated.xml").read_bytes()
    with pytest.raises(PriceFormatError, match=message):
        parse_entsoe_document(data)


_LAUGHS = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "lol"}">' for i in range(10))
HOSTILE = {
    # 10^9 "lol"s once expanded: refused before any expansion.
    "billion-laughs": f"<!DOCTYPE lolz [{_LAUGHS}]><lolz>&lol9;</lolz>",
    "external-entity": '<!DOCTYPE x [<!ENTITY f SYSTEM "file:///etc/passwd">]><x>&f;</x>',
    "external-dtd": '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>',
    # Past the first few kilobytes, where a prefix check would no longer look.
    "dtd-after-a-long-prolog": f"<?xml version='1.0'?><!--{'x' * 8192}-->"
    f"<!DOCTYPE lolz [{_LAUGHS}]><lolz>&lol9;</lolz>",
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_entity_tricks_are_refused_with_one_line(body: str) -> None:
    with pytest.raises(PriceFormatError) as caught:
        parse_entsoe_document(body.encode())
    assert str(caught.value) == "ENTSO-E: unsafe XML refused: DTDForbidden"


def _period_doc(resolution: str, points: str, *, curve: str = "A01") -> bytes:
    end = "2024-01-01T01:00Z"
    return f"""<Publication_MarketDocument xmlns="urn:x"><TimeSeries><curveType>{curve}</curveType>
    <Period><timeInterval><start>2024-01-01T00:00Z</start><end>{end}</end></timeInterval>
    <resolution>{resolution}</resolution>{points}</Period></TimeSeries>
    </Publication_MarketDocument>""".encode()


@pytest.mark.parametrize(
    ("resolution", "points", "message"),
    [
        ("PT60M", "", "no point at position 1"),
        ("PT15M", "<Point><position>1</position><price.amount>1</price.amount></Point>",
         "A01 misses position 2"),
        ("PT60M", "<Point><position>2</position><price.amount>1</price.amount></Point>",
         "out of range"),
        ("P1D", "", "unsupported resolution"),
        ("PT60M", "<Point><position>1</position><price.amount>x</price.amount></Point>",
         "bad Point"),
    ],
)  # fmt: skip
def test_broken_periods_are_format_errors(resolution: str, points: str, message: str) -> None:
    with pytest.raises(PriceFormatError, match=message):
        parse_entsoe_document(_period_doc(resolution, points))


def test_30_minute_resolution_is_refused_by_validation() -> None:
    points = "<Point><position>1</position><price.amount>1</price.amount></Point>"
    doc = _period_doc("PT30M", points, curve="A03")
    with pytest.raises(PriceFormatError, match="expected 15 or 60 minutes"):
        parse_entsoe_document(doc)


prices = st.lists(st.integers(-500, 4000).map(float), min_size=1, max_size=120)


@given(prices)
def test_a03_expansion_of_the_compressed_curve_is_the_dense_series(dense: list[float]) -> None:
    compressed = {1: dense[0]}
    compressed.update({i + 1: p for i, p in enumerate(dense) if i > 0 and p != dense[i - 1]})
    assert expand_positions(compressed, len(dense), curve="A03") == dense


@given(prices)
def test_a01_expansion_of_a_full_curve_is_itself(dense: list[float]) -> None:
    full = {i + 1: p for i, p in enumerate(dense)}
    assert expand_positions(full, len(dense), curve="A01") == dense


def test_quarter_series_wins_over_an_hourly_series_of_the_same_day() -> None:
    def series(resolution: str, prices: list[str]) -> str:
        points = "".join(
            f"<Point><position>{i}</position><price.amount>{p}</price.amount></Point>"
            for i, p in enumerate(prices, 1)
        )
        return (
            "<TimeSeries><curveType>A03</curveType><Period><timeInterval>"
            "<start>2025-09-30T22:00Z</start><end>2025-09-30T23:00Z</end></timeInterval>"
            f"<resolution>{resolution}</resolution>{points}</Period></TimeSeries>"
        )

    doc = (
        '<Publication_MarketDocument xmlns="urn:x">'
        + series("PT60M", ["40.00"])
        + series("PT15M", ["38.00", "39.00", "41.00", "42.00"])
        + "</Publication_MarketDocument>"
    ).encode()
    slots = parse_entsoe_document(doc)
    assert [s.price_per_kwh for s in slots] == [0.038, 0.039, 0.041, 0.042]
