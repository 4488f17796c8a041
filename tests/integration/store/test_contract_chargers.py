"""Contract: chargers, their energy baselines and charger plans, on every store implementation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from enode_scheduler.records import ChargerReading, EnergyBaseline, PlanRecord, PlanTarget

from .conftest import START


def reading(charger_id: str = "c1", *, user: str = "u1", minutes: int = 0, **kw: Any) -> Any:
    values: dict[str, Any] = {
        "vendor": "EASEE",
        "last_seen": START + timedelta(minutes=minutes),
        "is_reachable": True,
        "is_plugged_in": True,
        "is_charging": False,
        "charge_rate_kw": None,
        "brand": "Easee",
        "model": "Home",
        "energy_kwh": 0.0,
    }
    values.update(kw)
    return ChargerReading(charger_id, user, **values)


async def test_latest_reading_wins_and_older_ones_do_not(store: Any) -> None:
    await store.chargers.save_charger_readings([reading(minutes=10, energy_kwh=3.5)])
    await store.chargers.save_charger_readings([reading(minutes=5, energy_kwh=1.0)])
    await store.chargers.save_charger_readings(
        [reading("c2", user="u2", is_charging=True, charge_rate_kw=7.4)]
    )
    latest = await store.chargers.latest_charger_readings()
    assert latest["c1"] == reading(minutes=10, energy_kwh=3.5)
    assert latest["c2"].charge_rate_kw == 7.4
    assert await store.chargers.latest_charger_readings(["c2", "nope"]) == {"c2": latest["c2"]}
    assert await store.chargers.list_charger_ids() == ["c1", "c2"]
    assert await store.chargers.list_charger_ids("u2") == ["c2"]
    # The users were created with the chargers.
    assert {u.user_id for u in await store.users.list_users()} == {"u1", "u2"}


async def test_energy_baselines_are_kept_per_charger_and_replaced(store: Any) -> None:
    await store.chargers.save_charger_readings([reading(), reading("c2")])
    first = EnergyBaseline("c1", START + timedelta(hours=8), 2.0)
    await store.chargers.set_energy_baseline(first)
    assert await store.chargers.get_energy_baselines(["c1", "c2"]) == {"c1": first}
    second = EnergyBaseline("c1", START + timedelta(days=1, hours=8), 12.5)
    await store.chargers.set_energy_baseline(second)
    assert await store.chargers.get_energy_baselines(["c1"]) == {"c1": second}
    # A new reading does not reset the baseline.
    await store.chargers.save_charger_readings([reading(minutes=1, energy_kwh=13.0)])
    assert await store.chargers.get_energy_baselines(["c1"]) == {"c1": second}


async def test_deleting_the_user_removes_their_chargers(store: Any) -> None:
    await store.chargers.save_charger_readings([reading(), reading("c2", user="u2")])
    assert await store.users.delete_user("u1") is True
    assert await store.chargers.list_charger_ids() == ["c2"]


async def test_charger_plans_round_trip(store: Any) -> None:
    via = PlanRecord("car-1", "u1", 80.0, deadline=START + timedelta(hours=9), charger_id="c1")
    only = PlanRecord(
        "c2", "u1", 100.0, deadline=START + timedelta(hours=9), charger_id="c2", energy_kwh=20.0
    )
    await store.plans.put_plan(via)
    await store.plans.put_plan(only)
    got_via, got_only = await store.plans.get_plan("car-1"), await store.plans.get_plan("c2")
    assert (got_via.target, got_via.charger_id, got_via.energy_only) == (
        PlanTarget.CHARGER,
        "c1",
        False,
    )
    assert (got_only.energy_kwh, got_only.energy_only) == (20.0, True)
    plain = await store.plans.put_plan(PlanRecord("car-9", "u1", 70.0, deadline=via.deadline))
    assert (plain.target, plain.charger_id, plain.energy_kwh) == (PlanTarget.VEHICLE, None, None)
