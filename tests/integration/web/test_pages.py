"""The operator's web page in-process (httpx over ASGI), over the in-memory twins."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from enode_scheduler.api.app import create_api
from enode_scheduler.api.deps import ApiDeps, WebSources
from enode_scheduler.api.web.fleet import FleetView, Problem
from enode_scheduler.api.web.history import SocHistory
from enode_scheduler.api.web.routes import COOKIE
from enode_scheduler.clock import FakeClock
from enode_scheduler.planner.models import IntensitySlot, Schedule, Slot, Window
from enode_scheduler.records import (
    CarHealth,
    CarStatus,
    ChargeAction,
    ChargingLocation,
    CommandIntent,
    PlanRecord,
    PlanStatus,
    Presence,
    ScheduleRecord,
    UserRecord,
)
from enode_scheduler.testing import InMemoryStore
from tests.integration.api.support import READ, READ_TOKEN, api_settings, reading

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=18)


@dataclass
class Web:
    client: httpx.AsyncClient
    store: InMemoryStore
    clock: FakeClock
    history: SocHistory


def _slots() -> list[Slot]:
    start = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    return [
        Slot(start + timedelta(hours=h), start + timedelta(hours=h + 1), 0.1 + (h % 7) / 20)
        for h in range(48)
    ]


def _intensity() -> list[IntensitySlot]:
    """Hourly from 06:00 to 04:00 the next day, with 20:00-22:00 missing (a gap in the line)."""
    start = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    return [
        IntensitySlot(start + timedelta(hours=h), start + timedelta(hours=h + 1), 100.0 + 10 * h)
        for h in range(22)
        if h not in (14, 15)
    ]


async def _seed(store: InMemoryStore) -> None:
    await store.vehicles.save_readings(
        [
            reading("car-ok", "alice", soc_percent=40.0, charging_location_id="home-alice"),
            reading("car-risk", "bob", soc_percent=10.0, charging_location_id="home-bob"),
            reading("car-relink", "carol", soc_percent=55.0),
            reading("car-bmw", "dora", vendor="BMW", soc_percent=70.0),
        ]
    )
    await store.users.upsert_user(UserRecord("carol"))
    await store.users.mark_needs_relink("carol", reason="token revoked")
    for vid, user, target in (("car-ok", "alice", 80.0), ("car-risk", "bob", 90.0)):
        await store.plans.put_plan(
            PlanRecord(vehicle_id=vid, user_id=user, target_soc_percent=target, deadline=DEADLINE,
                       location_id=f"home-{user}")
        )  # fmt: skip
    await store.plans.set_presences(
        {"car-ok": Presence.AT_LOCATION, "car-risk": Presence.AT_LOCATION}
    )
    window = Window(NOW + timedelta(hours=12), NOW + timedelta(hours=15))
    for vid, expected in (("car-ok", 80.0), ("car-risk", 60.0)):
        schedule = Schedule(
            feasible=expected >= 80.0, windows=(window,), grid_energy_kwh=30.0, cost=3.0,
            starts=1, soc_at_deadline_percent=expected, baseline_cost=5.0,
            explanation=("Charges in the cheapest hours before the deadline.",),
            co2_kg=4.5, baseline_co2_kg=6.25,
        )  # fmt: skip
        await store.schedules.save_schedules([ScheduleRecord(vid, schedule, DEADLINE, NOW)])
    await store.prices.upsert_slots("NO1", _slots())
    await store.intensity.upsert_intensity("NO", _intensity())
    # No shard is claimed here, so epoch 0 is the current one.
    await store.intents.record_sends(
        [CommandIntent("k1", "car-ok", "alice", ChargeAction.START, "window_start", epoch=0)],
        at=NOW,
    )


@pytest.fixture
async def web() -> AsyncIterator[Web]:
    async with _web(co2=False) as w:
        yield w


@pytest.fixture
async def co2_web() -> AsyncIterator[Web]:
    async with _web(co2=True) as w:
        yield w


@contextlib.asynccontextmanager
async def _web(*, co2: bool) -> AsyncIterator[Web]:
    clock = FakeClock(NOW)
    store = InMemoryStore.create(clock=clock)
    await _seed(store)
    history = SocHistory()
    sources = WebSources(
        prices=store.prices, zone="NO1", zone_timezone="Europe/Oslo",
        price_view=lambda slots: [Slot(s.start, s.end, s.price_per_kwh * 2) for s in slots],
        soc_history=history, paused_vendors=lambda: frozenset({"BMW"}),
        intensity=store.intensity if co2 else None, intensity_zone="NO" if co2 else None,
    )  # fmt: skip
    deps = ApiDeps(
        users=store.users, vehicles=store.vehicles, plans=store.plans, schedules=store.schedules,
        intents=store.intents, overrides=store.overrides, sites=store.sites, clock=clock,
        locations=store.locations, web=sources,
    )  # fmt: skip
    app = create_api(deps, api_settings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://ops.test") as client:
        yield Web(client, store, clock, history)


async def test_pages_redirect_to_login_without_a_token(web: Web) -> None:
    for path in ("/", "/cars/car-ok", "/prices"):
        response = await web.client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    fragment = await web.client.get("/", headers={"X-Fragment": "1"})
    assert fragment.status_code == 401


async def test_login_sets_an_http_only_secure_cookie_and_refuses_bad_tokens(web: Web) -> None:
    bad = await web.client.post("/login", data={"token": "nope", "next": "/"})
    assert bad.status_code == 401
    assert "not valid" in bad.text
    assert COOKIE not in bad.cookies
    ok = await web.client.post("/login", data={"token": READ_TOKEN, "next": "/cars/car-ok"})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/cars/car-ok"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=strict" in cookie
    page = await web.client.get("/")
    assert page.status_code == 200
    assert "car-ok" in page.text
    out = await web.client.post("/logout")
    assert out.status_code == 303
    assert (await web.client.get("/")).status_code == 303


async def test_login_never_redirects_off_site(web: Web) -> None:
    for target in ("https://evil.test/", "//evil.test/x", "/\\evil.test"):
        response = await web.client.post("/login", data={"token": READ_TOKEN, "next": target})
        assert response.headers["location"] == "/"


async def test_fleet_lists_problems_first_and_filters(web: Web) -> None:
    page = await web.client.get("/", headers=READ)
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    order = re.findall(r'data-vehicle="([^"]+)"', page.text)
    assert order == ["car-relink", "car-bmw", "car-risk", "car-ok"]
    assert "b-outage" in page.text
    assert "relink_required" in page.text
    assert "at_risk" in page.text
    found = await web.client.get("/", params={"q": "BOB"}, headers=READ)
    assert re.findall(r'data-vehicle="([^"]+)"', found.text) == ["car-risk"]
    problems = await web.client.get("/", params={"problems": "1"}, headers=READ)
    assert re.findall(r'data-vehicle="([^"]+)"', problems.text) == [
        "car-relink", "car-bmw", "car-risk",
    ]  # fmt: skip
    fragment = await web.client.get("/", headers={**READ, "X-Fragment": "1"})
    assert "<html" not in fragment.text
    assert 'data-vehicle="car-ok"' in fragment.text


async def test_fleet_is_paginated_and_built_once_per_ttl(web: Web) -> None:
    deps = web.client._transport.app.state.api_deps  # type: ignore[attr-defined]
    ticks = [0.0]
    view = FleetView(deps, ttl_s=5.0, page_size=2, monotonic=lambda: ticks[0])
    first = await view.page(page=1)
    assert (first.pages, first.total, len(first.rows)) == (2, 4, 2)
    assert [r.vehicle_id for r in (await view.page(page=9)).rows] == ["car-risk", "car-ok"]
    await web.store.vehicles.save_readings([reading("car-new", "dave")])
    assert (await view.page()).total == 4  # served from memory within the TTL
    ticks[0] = 4.9
    assert (await view.page()).total == 4
    ticks[0] = 5.0
    assert (await view.page()).total == 5
    risk = next(r for r in await view.rows() if r.vehicle_id == "car-risk")
    assert risk.problems == (Problem.AT_RISK,)


async def test_car_page_draws_prices_windows_and_soc(web: Web) -> None:
    web.history.observe([reading("car-ok", "alice", soc_percent=38.0,
                                 last_seen=NOW - timedelta(hours=2))])  # fmt: skip
    page = await web.client.get("/cars/car-ok", headers=READ)
    assert page.status_code == 200
    svg = re.search(r"<svg class=\"chart\".*?</svg>", page.text, re.S)
    assert svg is not None
    chart = svg.group(0)
    assert chart.count('class="c-window"') == 1
    assert chart.count('class="c-price') >= 18
    assert 'class="c-expected"' in chart
    assert chart.count('class="c-actual"') == 2  # the remembered reading and the latest
    assert "Charges in the cheapest hours" in page.text
    assert 'data-action="START"' in page.text
    missing = await web.client.get("/cars/nope", headers=READ)
    assert missing.status_code == 404


async def test_prices_page_shows_today_and_tomorrow_with_the_tariff(web: Web) -> None:
    page = await web.client.get("/prices", headers=READ)
    assert page.status_code == 200
    assert "Sunday 29 November" in page.text
    assert "Monday 30 November" in page.text
    # 00:00 UTC is 01:00 in Oslo: spot 0.100 becomes 0.200 with the test's tariff.
    assert re.search(r"<td>01:00</td><td>0\.100</td><td>0\.200</td>", page.text)


async def test_failed_plan_is_an_error_and_listed_first(web: Web) -> None:
    await web.store.plans.set_plan_status("car-ok", PlanStatus.FAILED, reason="START not confirmed")
    page = await web.client.get("/", params={"q": "car-ok"}, headers=READ)
    assert "b-error" in page.text
    assert "failed: START not confirmed" in page.text


async def _plan_at(store: InMemoryStore, vid: str, user: str, **kw: Any) -> None:
    await store.plans.put_plan(
        PlanRecord(vehicle_id=vid, user_id=user, target_soc_percent=80.0, deadline=DEADLINE, **kw)
    )


async def test_plan_statuses_away_unknown_and_no_location(web: Web) -> None:
    store = web.store
    await store.locations.put_location(ChargingLocation("work-eve", "eve", name="Office"))
    await store.vehicles.save_readings(
        [
            reading("car-away", "eve", charging_location_id="work-eve"),
            reading("car-unknown", "finn", position_known=None),
            reading("car-noloc", "gus", charging_location_id="home-gus"),
        ]
    )
    await _plan_at(store, "car-away", "eve", location_id="home-eve")
    await _plan_at(store, "car-unknown", "finn", location_id="home-finn")
    await _plan_at(store, "car-noloc", "gus")
    await store.plans.set_presences(
        {"car-away": Presence.AWAY, "car-unknown": Presence.LOCATION_UNKNOWN}
    )
    page = await web.client.get("/", headers=READ)
    rows = dict(re.findall(r'<tr data-vehicle="([^"]+)"[^>]*>(.*?)</tr>', page.text, re.S))
    # A plan that names no location is never acted on: a problem, listed before an outage.
    order = re.findall(r'data-vehicle="([^"]+)"', page.text)
    assert order.index("car-noloc") < order.index("car-bmw")
    assert "no location: not controlled" in rows["car-noloc"]
    assert 'data-location="at_charging_location"' in rows["car-noloc"]
    # Away and unknown are no problems, but not "ok" either.
    assert '<span class="badge b-away">away</span>' in rows["car-away"]
    assert 'data-location="away"' in rows["car-away"]
    assert "b-ok" not in rows["car-away"]
    assert '<span class="badge b-location_unknown">location_unknown</span>' in rows["car-unknown"]
    assert 'data-location="location_unknown"' in rows["car-unknown"]
    assert 'data-location="at_plan_location"' in rows["car-ok"]
    assert "b-ok" in rows["car-ok"]
    problems = await web.client.get("/", params={"problems": "1"}, headers=READ)
    listed = re.findall(r'data-vehicle="([^"]+)"', problems.text)
    assert "car-noloc" in listed
    assert "car-away" not in listed

    # With `unknown_location = "act"` a car whose position is unknown is controlled: ok.
    deps = web.client._transport.app.state.api_deps  # type: ignore[attr-defined]
    assert deps.web is not None
    acting = dataclasses.replace(deps, web=dataclasses.replace(deps.web, unknown_location="act"))
    rows_acting = {r.vehicle_id: r for r in await FleetView(acting).rows()}
    assert rows_acting["car-unknown"].left_alone is None
    assert rows_acting["car-unknown"].problems == ()
    assert rows_acting["car-away"].left_alone == "away"

    away = await web.client.get("/cars/car-away", headers=READ)
    assert 'data-plan-status="away"' in away.text
    assert "away: not followed there" in away.text
    assert "away (Office)" in away.text
    noloc = await web.client.get("/cars/car-noloc", headers=READ)
    assert 'class="badge b-no_location">no location: not controlled</span>' in noloc.text
    assert 'data-plan-status="no_location"' in noloc.text


def _car_svg(html: str) -> str:
    svg = re.search(r'<svg class="chart".*?</svg>', html, re.S)
    assert svg is not None
    return svg.group(0)


async def test_car_page_shows_carbon_intensity_and_kg_co2_with_a_co2_source(
    co2_web: Web,
) -> None:
    page = await co2_web.client.get("/cars/car-ok", headers=READ)
    chart = _car_svg(page.text)
    assert 'viewBox="0 0 800 560"' in chart  # a panel taller than without CO2
    assert "carbon intensity" in chart
    # The chart runs from 06:00 (six hours back) to the deadline plus one hour; 20 slots in it,
    # two lines because of the two missing hours.
    assert chart.count('class="c-co2-slot"') == 20
    lines = re.findall(r'<polyline class="c-co2" points="([^"]+)"/>', chart)
    assert [len(line.split()) for line in lines] == [28, 12]
    assert "06:00 100 g CO2/kWh" not in chart  # tooltips are in local (Oslo) time
    assert "Sun 07:00 100 g CO2/kWh" in chart
    # The axis top is a round number above the highest value (310 g -> 350 g).
    assert ">350</text>" in chart
    assert 'data-co2-kg="4.50"' in page.text
    assert "4.5 kg (saves 1.8 kg)" in page.text
    assert "carbon intensity, g CO2 per kWh" in page.text
    fleet = await co2_web.client.get("/", headers=READ)
    assert "Planned CO2" in fleet.text
    row = re.search(r'<tr data-vehicle="car-ok"[^>]*>(.*?)</tr>', fleet.text, re.S)
    assert row is not None
    assert "<td>4.5 kg</td>" in row.group(1)


async def test_without_a_co2_source_nothing_about_co2_is_shown(web: Web) -> None:
    page = await web.client.get("/cars/car-ok", headers=READ)
    chart = _car_svg(page.text)
    assert 'viewBox="0 0 800 420"' in chart
    assert "c-co2" not in chart
    assert "data-co2-kg" not in page.text
    assert "Planned CO2" not in (await web.client.get("/", headers=READ)).text


async def test_a_co2_source_without_stored_intensity_says_so(co2_web: Web) -> None:
    await co2_web.clock.advance_to(NOW + timedelta(days=3))
    chart = _car_svg((await co2_web.client.get("/cars/car-ok", headers=READ)).text)
    assert "no carbon intensity stored for this period" in chart
    assert "c-co2-slot" not in chart


async def test_the_daemons_car_statuses_show_as_problems(web: Web) -> None:
    """What only the running daemon knows (a token that does not decrypt, a link Enode refused,
    an outage) reaches the fleet table and the car page through `ApiDeps.health`."""
    since = NOW - timedelta(minutes=20)
    health = [
        CarHealth("car-ok", "alice", CarStatus.ERROR, "token_undecryptable", since),
        CarHealth("car-risk", "bob", CarStatus.RELINK_REQUIRED, "refresh refused (HTTP 401)"),
    ]
    app_deps = web.client._transport.app.state.api_deps  # type: ignore[attr-defined]
    deps = dataclasses.replace(app_deps, health=lambda: health)
    rows = {r.vehicle_id: r for r in await FleetView(deps).rows()}
    assert rows["car-ok"].problems == (Problem.ERROR,)
    assert rows["car-risk"].problems[0] is Problem.RELINK_REQUIRED
    health.append(CarHealth("car-bmw", "dora", CarStatus.VENDOR_OUTAGE, "OUTAGE"))
    # BMW is paused and the daemon says outage too: one badge, not two.
    bmw = next(r for r in await FleetView(deps).rows() if r.vehicle_id == "car-bmw")
    assert bmw.problems == (Problem.OUTAGE,)
    transport = httpx.ASGITransport(app=create_api(deps, api_settings()))
    async with httpx.AsyncClient(transport=transport, base_url="https://ops.test") as client:
        page = await client.get("/cars/car-ok", headers=READ)
        assert page.status_code == 200
        assert 'class="badge b-error"' in page.text
        assert 'data-trouble="error"' in page.text
        assert "token_undecryptable" in page.text
        fleet = await client.get("/", headers=READ)
        order = re.findall(r'data-vehicle="([^"]+)"', fleet.text)
        assert order.index("car-risk") < order.index("car-ok")  # relink outranks error
