"""CO2: the CSV reader, the parsers (property tests) and intensity put on price slots."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enode_scheduler.config import Co2Settings
from enode_scheduler.exceptions import PriceFormatError
from enode_scheduler.planner.intensity import mean_intensity, with_intensity
from enode_scheduler.planner.models import IntensitySlot, Slot
from enode_scheduler.prices.co2.electricitymaps import parse_forecast_json
from enode_scheduler.prices.co2.factory import electricitymaps_zone, intensity_zone
from enode_scheduler.prices.co2.file import FileIntensitySource, read_intensity_csv
from enode_scheduler.prices.co2.ukgrid import parse_ukgrid_json

T0 = datetime(2024, 3, 5, 0, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]


def test_one_column_csv(tmp_path: Path) -> None:
    path = tmp_path / "co2.csv"
    path.write_text(
        "start_utc,g_co2_per_kwh\n2024-03-05T00:00:00Z,300\n2024-03-05T01:00:00Z,250.5\n"
    )
    slots = read_intensity_csv(path)
    assert [(s.start.hour, s.end.hour, s.g_co2_per_kwh) for s in slots] == [
        (0, 1, 300.0),
        (1, 2, 250.5),
    ]


def test_two_column_gzip_picks_the_factor(tmp_path: Path) -> None:
    path = tmp_path / "DE.csv.gz"
    text = "start_utc,g_co2_per_kwh_direct,g_co2_per_kwh_lca\n2024-03-05T00:00:00Z,157.03,205.91\n"
    path.write_bytes(gzip.compress(text.encode()))
    assert read_intensity_csv(path)[0].g_co2_per_kwh == 205.91
    assert read_intensity_csv(path, factor="direct")[0].g_co2_per_kwh == 157.03


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,grams\n", "header must be"),
        ("start_utc,g_co2_per_kwh\n2024-03-05T00:00:00Z,-1\n", ":2: intensity -1.0 outside"),
        ("start_utc,g_co2_per_kwh\n2024-03-05T00:00:00Z,abc\n", ":2: not a number"),
        ("start_utc,g_co2_per_kwh\n2024-03-05T00:00:00Z,nan\n", "finite number"),
        ("start_utc,g_co2_per_kwh\n2024-03-05T00:00:00,1\n", "time without a zone"),
        ("start_utc,g_co2_per_kwh\n2024-03-05T01:00:00Z,1\n2024-03-05T00:00:00Z,1\n", "increase"),
        ("start_utc,g_co2_per_kwh\n2024-03-05T00:00:00Z\n", "expected 2 columns"),
    ],
)
def test_bad_csv_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "co2.csv"
    path.write_text(text)
    with pytest.raises(PriceFormatError, match=message):
        read_intensity_csv(path)


def test_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(PriceFormatError, match="cannot read"):
        read_intensity_csv(tmp_path / "nope.csv.gz")


async def test_file_source_clips_to_the_asked_range() -> None:
    source = FileIntensitySource(REPO / "data/co2/intensity/FR_2024.csv.gz")
    slots = await source.fetch(start=T0, end=T0 + timedelta(hours=3))
    assert len(slots) == 3
    assert all(0 < s.g_co2_per_kwh < 200 for s in slots)


def test_zones() -> None:
    assert electricitymaps_zone("DE_LU") == "DE"
    assert electricitymaps_zone("NO2") == "NO-NO2"
    assert electricitymaps_zone("FR") == "FR"
    assert intensity_zone(Co2Settings(source="ukgrid"), price_zone="NO2") == "GB"


GRAMS = st.floats(0, 2000, allow_nan=False).map(lambda g: round(g, 2))


@settings(max_examples=100, deadline=None)
@given(st.lists(GRAMS, min_size=1, max_size=60), st.sampled_from([15, 30, 60]))
def test_electricitymaps_round_trip(values: list[float], minutes: int) -> None:
    points = [
        {"carbonIntensity": g, "datetime": (T0 + i * timedelta(minutes=minutes)).isoformat()}
        for i, g in enumerate(values)
    ]
    slots = parse_forecast_json(json.loads(json.dumps({"zone": "DE", "forecast": points[::-1]})))
    assert [s.g_co2_per_kwh for s in slots] == values
    step = timedelta(minutes=minutes) if len(values) > 1 else timedelta(hours=1)
    assert all(s.end - s.start == step for s in slots)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2000), st.none() | st.integers(0, 2000)), min_size=1))
def test_ukgrid_round_trip(values: list[tuple[int, int | None]]) -> None:
    stamp = "%Y-%m-%dT%H:%MZ"
    periods = [
        {
            "from": (T0 + i * timedelta(minutes=30)).strftime(stamp),
            "to": (T0 + (i + 1) * timedelta(minutes=30)).strftime(stamp),
            "intensity": {"forecast": forecast, "actual": actual, "index": "low"},
        }
        for i, (forecast, actual) in enumerate(values)
    ]
    slots = parse_ukgrid_json({"data": periods})
    expected = [float(forecast if actual is None else actual) for forecast, actual in values]
    assert [s.g_co2_per_kwh for s in slots] == expected


def _series(
    start: datetime, minutes: list[int], values: list[float]
) -> list[tuple[datetime, datetime, float]]:
    out, moment = [], start
    for length, value in zip(minutes, values, strict=False):
        out.append((moment, moment + timedelta(minutes=length), value))
        moment += timedelta(minutes=length)
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([15, 60]), min_size=1, max_size=12),
    st.integers(-6, 6),
    st.lists(st.sampled_from([30, 60]), min_size=0, max_size=12),
    st.lists(GRAMS, min_size=12, max_size=12),
    st.none() | GRAMS,
)
def test_with_intensity_cuts_exactly_and_estimates_the_rest(
    price_steps: list[int],
    shift: int,
    co2_steps: list[int],
    grams: list[float],
    estimate: float | None,
) -> None:
    prices = [
        Slot(s, e, 0.1 * i) for i, (s, e, _) in enumerate(_series(T0, price_steps, [0.0] * 12))
    ]
    known = [
        IntensitySlot(s, e, g)
        for s, e, g in _series(T0 + shift * timedelta(minutes=30), co2_steps, grams)
    ]
    out = with_intensity(prices, known, estimate=estimate)
    # the same time, each part inside one price slot with its price, parts contiguous
    assert out[0].start == prices[0].start
    assert out[-1].end == prices[-1].end
    assert all(a.end == b.start for a, b in itertools.pairwise(out))
    for part in out:
        owner = next(p for p in prices if p.start <= part.start and part.end <= p.end)
        assert part.price_per_kwh == owner.price_per_kwh
        inside = [k for k in known if k.start <= part.start and part.end <= k.end]
        if inside:
            assert part.g_co2_per_kwh == inside[0].g_co2_per_kwh
            assert not part.provisional
        else:
            assert not any(k.start < part.end and part.start < k.end for k in known)
            assert part.g_co2_per_kwh == estimate
            assert part.provisional == (estimate is not None)


def test_mean_intensity_is_time_weighted_over_the_last_day() -> None:
    slots = [
        IntensitySlot(T0, T0 + timedelta(hours=24), 100.0),
        IntensitySlot(T0 + timedelta(hours=24), T0 + timedelta(hours=30), 400.0),
    ]
    assert mean_intensity(slots) == pytest.approx((18 * 100 + 6 * 400) / 24)
    assert mean_intensity([]) is None
