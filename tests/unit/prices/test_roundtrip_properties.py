"""Property tests: a valid series written in a source's documented format parses back to itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from enode_scheduler.planner.models import Slot
from enode_scheduler.prices.entsoe import parse_entsoe_document
from enode_scheduler.prices.file import read_price_json
from enode_scheduler.prices.nordpool import parse_nordpool_json

T0 = datetime(2025, 10, 25, 22, tzinfo=UTC)
STEPS = {"PT15M": timedelta(minutes=15), "PT60M": timedelta(hours=1)}

# Prices in whole cents per MWh, as published, so that /1000 round-trips exactly through text.
cents = st.integers(-50_000, 400_000)
periods = st.lists(
    st.tuples(st.sampled_from(sorted(STEPS)), st.lists(cents, min_size=1, max_size=30)),
    min_size=1,
    max_size=4,
)


def expected(chosen: list[tuple[str, list[int]]]) -> list[Slot]:
    slots, at = [], T0
    for resolution, prices in chosen:
        for price in prices:
            step = STEPS[resolution]
            # What a parser makes of the text "12.34": float("12.34") / 1000.
            slots.append(Slot(at, at + step, float(f"{price / 100:.2f}") / 1000))
            at += step
    return slots


def entsoe_xml(chosen: list[tuple[str, list[int]]], *, curve: str) -> bytes:
    parts, at = [], T0
    for resolution, prices in chosen:
        end = at + STEPS[resolution] * len(prices)
        points = "".join(
            f"<Point><position>{i}</position><price.amount>{p / 100:.2f}</price.amount></Point>"
            for i, p in enumerate(prices, 1)
            if curve == "A01" or i == 1 or p != prices[i - 2]
        )
        parts.append(
            f"<TimeSeries><curveType>{curve}</curveType><Period><timeInterval>"
            f"<start>{at:%Y-%m-%dT%H:%MZ}</start><end>{end:%Y-%m-%dT%H:%MZ}</end></timeInterval>"
            f"<resolution>{resolution}</resolution>{points}</Period></TimeSeries>"
        )
        at = end
    ns = "urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"
    body = "".join(parts)
    return f'<Publication_MarketDocument xmlns="{ns}">{body}</Publication_MarketDocument>'.encode()


@settings(max_examples=60)
@given(periods, st.sampled_from(["A01", "A03"]))
def test_entsoe_document_parses_back_to_the_dense_series(
    chosen: list[tuple[str, list[int]]], curve: str
) -> None:
    assert parse_entsoe_document(entsoe_xml(chosen, curve=curve)) == expected(chosen)


@settings(max_examples=60)
@given(periods)
def test_nordpool_answer_parses_back_to_the_series(chosen: list[tuple[str, list[int]]]) -> None:
    slots = expected(chosen)
    entries = [
        {
            "deliveryStart": s.start.isoformat().replace("+00:00", "Z"),
            "deliveryEnd": s.end.isoformat().replace("+00:00", "Z"),
            "entryPerArea": {"NO1": round(s.price_per_kwh * 1000, 2), "NO2": 0.0},
        }
        for s in reversed(slots)
    ]
    payload = json.loads(json.dumps({"multiAreaEntries": entries, "currency": "EUR"}))
    assert parse_nordpool_json(payload, area="NO1", currency="EUR") == slots


@settings(max_examples=60)
@given(periods)
def test_show_json_output_reads_back_as_a_file(chosen: list[tuple[str, list[int]]]) -> None:
    slots = expected(chosen)
    rows = [
        {"start": s.start.isoformat(), "end": s.end.isoformat(),
         "price_per_kwh": 1.0, "spot_per_mwh": round(s.price_per_kwh * 1000, 4)}
        for s in slots
    ]  # fmt: skip
    with TemporaryDirectory() as folder:
        path = Path(folder) / "prices.json"
        path.write_text(json.dumps(rows))
        assert read_price_json(path) == slots
