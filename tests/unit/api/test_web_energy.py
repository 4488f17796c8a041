"""A charger-only plan as the web page sees it: the daemon's energy "SoC", with kWh beside it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enode_scheduler.api.web.chargers import energy_view
from enode_scheduler.records import ChargerReading, EnergyBaseline, PlanRecord

NOW = datetime(2026, 12, 3, 8, tzinfo=UTC)
PLAN = PlanRecord(
    "box", "u1", 100.0, deadline=NOW + timedelta(hours=9), charger_id="box", energy_kwh=8.0,
    location_id="home",
)  # fmt: skip


def _charger(meter_kwh: float | None) -> ChargerReading:
    return ChargerReading("box", "u1", "ZAPTEC", NOW, True, True, True, 7.0, energy_kwh=meter_kwh)


def test_delivered_counts_from_the_cycles_baseline() -> None:
    view = energy_view(PLAN, _charger(12.0), EnergyBaseline("box", NOW, start_kwh=10.0))
    assert (view.delivered_kwh, view.goal_kwh, view.reading.soc_percent) == (2.0, 8.0, 25.0)
    assert (view.reading.vendor, view.reading.is_charging) == ("ZAPTEC", True)
    # A wallbox stands where its plan says.
    assert view.reading.charging_location_id == "home"


def test_more_than_the_goal_is_a_full_share_and_the_real_kwh() -> None:
    view = energy_view(PLAN, _charger(20.0), EnergyBaseline("box", NOW, start_kwh=10.0))
    assert (view.delivered_kwh, view.reading.soc_percent) == (10.0, 100.0)


def test_without_a_baseline_nothing_is_claimed_delivered() -> None:
    view = energy_view(PLAN, _charger(12.0), None)
    assert (view.delivered_kwh, view.reading.soc_percent) == (None, None)
    assert view.reading.last_seen == NOW


def test_a_charger_never_read_is_all_unknown() -> None:
    view = energy_view(PLAN, None, None)
    assert view.charger is None
    r = view.reading
    assert (r.vehicle_id, r.user_id, r.vendor, r.last_seen, r.is_plugged_in) == (
        "box", "u1", None, None, None,
    )  # fmt: skip
    assert r.charging_location_id is None
