"""Act only where a plan applies: the pure location decisions and the reconciler over fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from enode_scheduler.config import SchedulerSettings
from enode_scheduler.records import ChargeAction, IntentStatus, Presence
from enode_scheduler.service import decide
from tests.fakes import FakeCar
from tests.unit.service.test_decide import reading
from tests.unit.service.test_reconciler import SETTINGS, START, TOMORROW_7, intents, make_world

ids = st.one_of(st.none(), st.sampled_from(["home", "work", "x"]))


@pytest.mark.parametrize(
    ("at", "known", "plan_at", "want"),
    [
        pytest.param("home", True, "home", Presence.AT_LOCATION, id="at-home"),
        pytest.param("home", None, "home", Presence.AT_LOCATION, id="at-home-no-position"),
        pytest.param("work", True, "home", Presence.AWAY, id="other-location"),
        pytest.param("work", None, "home", Presence.AWAY, id="other-location-no-position"),
        pytest.param(None, True, "home", Presence.AWAY, id="at-no-location"),
        pytest.param(None, None, "home", Presence.LOCATION_UNKNOWN, id="vendor-says-nothing"),
        pytest.param(None, False, "home", Presence.LOCATION_UNKNOWN, id="no-position"),
        pytest.param("home", True, None, Presence.NO_LOCATION, id="plan-without-location"),
    ],
)
def test_presence(at: str | None, known: bool | None, plan_at: str | None, want: Presence) -> None:
    r = reading(charging_location_id=at, position_known=known)
    assert decide.presence(r, plan_at) is want


@given(at=ids, known=st.one_of(st.none(), st.booleans()), plan_at=ids)
def test_plan_applies_only_at_its_location_unless_told_to_act_on_unknown(
    at: str | None, known: bool | None, plan_at: str | None
) -> None:
    where = decide.presence(reading(charging_location_id=at, position_known=known), plan_at)
    skip = decide.plan_applies(where, unknown_location="skip")
    act = decide.plan_applies(where, unknown_location="act")
    assert skip == (plan_at is not None and at == plan_at)
    # "act" adds only the cars whose vendor says nothing; never one known to be elsewhere.
    assert act == (skip or (plan_at is not None and at is None and not known))


@given(
    rate=st.one_of(st.none(), st.floats(min_value=0, max_value=400)),
    charging=st.booleans(),
    applies=st.booleans(),
    action=st.sampled_from(ChargeAction),
    limit=st.floats(min_value=1, max_value=100),
)
def test_never_a_command_where_the_plan_does_not_apply_nor_a_stop_of_fast_charging(
    rate: float | None, charging: bool, applies: bool, action: ChargeAction, limit: float
) -> None:
    r = reading(charge_rate_kw=rate, is_charging=charging)
    ok = decide.may_send(action, r, applies=applies, max_controlled_kw=limit)
    if not applies or (
        action is ChargeAction.STOP and charging and rate is not None and rate > limit
    ):
        assert not ok
    else:
        assert ok


def test_plan_view_of_a_car_plugged_in_elsewhere_is_unplugged() -> None:
    r = reading(is_plugged_in=True, is_charging=True, charge_rate_kw=11.0)
    view = decide.as_plan_sees_it(r, applies=False)
    assert (view.is_plugged_in, view.is_charging) == (False, False)
    assert decide.as_plan_sees_it(r, applies=True) is r


async def test_car_plugged_in_away_gets_no_command_and_is_reported_away() -> None:
    # At an ordinary 11 kW charger at work, charging at once, in the expensive afternoon.
    car = FakeCar("v1", "u1", soc_percent=40.0, charging=True, power_kw=11.0, location_id="work")
    world = await make_world([car])
    await world.add_plan("v1", target=70.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    with capture_logs() as logs:
        await world.run(hours=3)
    assert world.enode.commands == []
    plan = await world.stores.plans.get_plan("v1")
    assert plan is not None
    assert plan.presence is Presence.AWAY
    assert plan.shown_status == "away"
    assert world.rec.status_counts() == {"away": 1}
    # One line for the plug-in, not one per poll.
    assert [e["event"] for e in logs].count("vehicle_away") == 1
    # Home again and plugged in: planned and controlled there (stopped until the cheap night).
    world.enode.plug("v1", plugged=False)
    await world.run(hours=0.5)
    world.enode.move("v1", location_id="home", power_kw=7.4)
    world.enode.cars["v1"].soc_percent = 40.0  # driven home
    world.enode.plug("v1", plugged=True)
    world.enode.cars["v1"].charging = True
    await world.run(hours=20)
    actions = [a for _, _, a in world.enode.commands]
    assert actions[0] is ChargeAction.STOP
    assert ChargeAction.START in actions
    assert world.enode.cars["v1"].soc_percent == pytest.approx(70.0, abs=0.5)
    plan = await world.stores.plans.get_plan("v1")
    assert plan is not None
    assert plan.presence is Presence.AT_LOCATION


async def test_car_fast_charging_at_home_is_never_stopped() -> None:
    car = FakeCar("v1", "u1", soc_percent=20.0, charging=True, power_kw=150.0)
    world = await make_world([car])
    await world.add_plan("v1", target=50.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    with capture_logs() as logs:
        await world.run(hours=0.1)
    assert world.enode.commands == []
    assert world.enode.cars["v1"].charging
    assert [e["event"] for e in logs].count("fast_charging_left_alone") == 1


async def test_car_at_ordinary_power_at_home_is_stopped_outside_its_window() -> None:
    # The control case of the test above: the same car at 11 kW is stopped at once.
    car = FakeCar("v1", "u1", soc_percent=20.0, charging=True, power_kw=11.0)
    world = await make_world([car])
    await world.add_plan("v1", target=50.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    await world.run(hours=0.1)
    assert [a for _, _, a in world.enode.commands] == [ChargeAction.STOP]


@pytest.mark.parametrize(("mode", "sent"), [("skip", False), ("act", True)])
async def test_vendor_without_location(mode: str, sent: bool) -> None:
    car = FakeCar("v1", "u1", charging=True, location_id=None, reports_position=False)
    settings = SETTINGS.model_copy(update={"unknown_location": mode})
    assert isinstance(settings, SchedulerSettings)
    world = await make_world([car], settings)
    await world.add_plan("v1", target=80.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    await world.run(hours=1)
    assert bool(world.enode.commands) is sent
    plan = await world.stores.plans.get_plan("v1")
    assert plan is not None
    assert plan.presence is Presence.LOCATION_UNKNOWN
    assert plan.shown_status == "location_unknown"


async def test_plan_without_location_is_not_controlled() -> None:
    world = await make_world([FakeCar("v1", "u1", charging=True)])
    await world.add_plan("v1", target=80.0, deadline=TOMORROW_7, location_id=None)
    await world.rec.load(now=world.clock.now())
    await world.run(hours=2)
    assert world.enode.commands == []
    assert world.rec.status_counts() == {"no_location": 1}
    assert START + timedelta(hours=2) == world.clock.now()


async def test_coming_home_without_a_seen_unplug_counts_as_plugging_in() -> None:
    # The poll missed the drive home: the car was plugged in at work, and now is at home.
    car = FakeCar("v1", "u1", soc_percent=30.0, charging=True, power_kw=7.4, location_id="work")
    world = await make_world([car])
    await world.add_plan("v1", target=70.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    await world.run(hours=0.5)
    assert world.enode.commands == []
    world.enode.move("v1", location_id="home")
    world.enode.cars["v1"].soc_percent = 30.0
    with capture_logs() as logs:
        await world.run(hours=1)
    assert [a for _, _, a in world.enode.commands] == [ChargeAction.STOP]
    replans = [e for e in logs if e["event"] == "plan_replanned"]
    assert replans
    assert replans[0]["reason"] == "plugged_in"


async def test_a_command_the_car_drove_away_from_does_not_count_against_the_plan() -> None:
    car = FakeCar("v1", "u1", soc_percent=30.0, charging=True, ignores_commands=True)
    world = await make_world([car])
    await world.add_plan("v1", target=70.0, deadline=TOMORROW_7)
    await world.rec.load(now=world.clock.now())
    await world.run(hours=0.01)
    assert [a for _, _, a in world.enode.commands] == [ChargeAction.STOP]
    world.enode.move("v1", location_id="work")  # gone before the STOP could be checked
    await world.run(hours=1)
    (intent,) = await intents(world)
    assert (intent.status, intent.error) == (IntentStatus.FAILED, "left_location")
    assert world.rec.cars["v1"].failed_attempts == 0
    assert len(world.enode.commands) == 1
