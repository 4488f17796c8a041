"""The web page in a real browser: the machine's headless Chromium driven by Playwright, against
the real daemon (`enode-scheduler run`) and the fake Enode, on one accelerated clock.

Log in, see the fleet and a charger-only plan's page, open a car, see the chart with its windows,
watch a START appear, and run axe-core's accessibility rules. Screenshots go to tests/artifacts/
(or $WEB_SCREENSHOTS_DIR).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from enode_scheduler.api.auth import hash_token
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.records import PlanRecord
from enode_scheduler.store import open_store
from tests.e2e.harness import free_port
from tests.e2e.scenario import CARS, DEADLINE, POWER_KW, USER, Car, Night

pytestmark = pytest.mark.e2e

playwright_api = pytest.importorskip("playwright.async_api")
axe_module = pytest.importorskip("axe_playwright_python.async_playwright")

# Cannot reach its target in time: the fleet lists it first, as at risk.
BIG = Car("e2e-big", "TESLA", 150.0, 10.0, 100.0)
# A wallbox with a charger-only plan (energy by the deadline): a fleet row and a page of its own.
BOX = "e2e-box"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
TOKEN = "browser-read-token-0123456789"
# 19:00 -> the cheap night hours take about 10 s of wall time at this speed: time to open a car.
SPEED = 1800.0
INTENSITY = Path(__file__).parents[1] / "fixtures" / "co2" / "demo_intensity_2025-10.csv"
ARTIFACTS = Path(os.environ.get("WEB_SCREENSHOTS_DIR", Path(__file__).parents[1] / "artifacts"))
# The flags the machine's Chromium needs on a closed network, as root.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
async def night(tmp_path: Path) -> AsyncIterator[tuple[Night, str]]:
    if not HAVE_CHROMIUM:
        pytest.skip("needs Debian's chromium (.ci/run installs it)")
    night = Night(tmp_path, database_url=None, speed=SPEED, cars=(*CARS, BIG))
    port = free_port()
    with night.config.open("a") as f:
        f.write(
            f'[api]\nlisten = "127.0.0.1:{port}"\nweb_refresh_s = 2\n'
            f'[[api.tokens]]\nname = "browser"\nscope = "read"\nsha256 = "{hash_token(TOKEN)}"\n'
            # The invented intensity covering the scenario's nights: the car chart's CO2 panel.
            f'[co2]\nsource = "file"\n[co2.file]\npath = "{INTENSITY}"\n'
        )
    await night.seed()
    await _add_charger_only_plan(night)
    night.start_daemon()
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(600):
            try:
                if (await client.get("/readyz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the daemon did not get ready")
    yield night, base
    night.close()


async def _add_charger_only_plan(night: Night) -> None:
    """A wallbox told to hold, with an anonymous car plugged in, and a plan for 10 kWh."""
    night.sim.control(
        "POST", "/chargers",
        {"user_id": USER, "id": BOX, "vendor": "ZAPTEC", "enabled": False,
         "max_charge_kw": POWER_KW},
    )  # fmt: skip
    night.sim.control("POST", f"/chargers/{BOX}/plug", {})
    # A wallbox is where its plan says: the user's home, where the sim puts every car.
    home = night.sim.car(CARS[0].vehicle_id)["charging_location_id"]
    settings = DatabaseSettings(url=night.database_url, auto_migrate=True)
    async with open_store(settings, state_dir=night.tmp, clock=night.timeline.clock()) as store:
        await store.plans.put_plan(
            PlanRecord(BOX, USER, 100.0, deadline=DEADLINE, charger_id=BOX, energy_kwh=10.0,
                       location_id=home)
        )  # fmt: skip


async def _schedule(base: str, vehicle_id: str, kind: str = "vehicles") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as client:
        for _ in range(600):
            body: dict[str, Any] = (await client.get(f"/v1/{kind}/{vehicle_id}/schedule")).json()
            if body.get("schedule") and body["schedule"]["windows"]:
                return body
            await asyncio.sleep(0.1)
    raise AssertionError(f"no schedule for {vehicle_id}")


async def test_log_in_see_fleet_open_car_watch_start(night: tuple[Night, str]) -> None:
    n, base = night
    await asyncio.to_thread(ARTIFACTS.mkdir, parents=True, exist_ok=True)
    # The car whose first window starts last: its START comes while the page is open.
    schedules = {c.vehicle_id: await _schedule(base, c.vehicle_id) for c in CARS}
    vid = max(schedules, key=lambda v: schedules[v]["schedule"]["windows"][0]["start"])
    first_start = datetime.fromisoformat(schedules[vid]["schedule"]["windows"][0]["start"])
    await _schedule(base, BOX, kind="chargers")
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await (
                await browser.new_context(viewport={"width": 1280, "height": 900})
            ).new_page()
            await page.goto(base + "/")
            assert "/login" in page.url
            assert not await _has_violations(page, "login")
            await page.get_by_label("API token").fill("wrong")
            await page.get_by_role("button", name="Log in").click()
            await page.get_by_role("alert").wait_for()
            await page.get_by_label("API token").fill(TOKEN)
            await page.get_by_role("button", name="Log in").click()
            await page.wait_for_url(base + "/")
            rows = page.locator("table.fleet tbody tr[data-vehicle]")
            await rows.first.wait_for()
            order = await rows.evaluate_all("rs => rs.map(r => r.dataset.vehicle)")
            assert sorted(order) == sorted([*(c.vehicle_id for c in (*CARS, BIG)), BOX])
            assert order[0] == BIG.vehicle_id
            await page.locator("tr[data-vehicle='e2e-big'] .b-at_risk").wait_for()
            assert await page.get_by_role("columnheader", name="Planned CO2").count() == 1
            assert not await _has_violations(page, "fleet")
            await page.screenshot(path=ARTIFACTS / "fleet.png", full_page=True)
            box_row = page.locator(f"tr[data-vehicle='{BOX}']")
            assert await box_row.locator("[data-kind='charger']").count() == 1
            assert "kWh" in await box_row.inner_text()
            # The charger-only plan's page: the charger, its energy goal, windows, and no SoC.
            await page.get_by_role("link", name=BOX).click()
            await page.wait_for_url(f"{base}/cars/{BOX}")
            assert await page.locator(f"dd[data-charger='{BOX}']").count() == 1
            assert await page.locator("dd[data-energy-delivered]").count() == 1
            assert await page.locator("table.windows tr[data-window]").count() >= 1
            box_chart = page.locator('svg[data-chart="car"]')
            assert await box_chart.locator("rect.c-window").count() >= 1
            assert await box_chart.locator("polyline.c-expected, circle.c-actual").count() == 0
            await page.goto(base + "/")
            await page.get_by_label("User, vehicle or charger id").fill("kona")
            await page.get_by_role("button", name="Filter").click()
            await page.wait_for_url("**/?q=kona**")
            assert await rows.evaluate_all("rs => rs.map(r => r.dataset.vehicle)") == ["e2e-kona"]
            await page.goto(base + "/")

            await page.get_by_role("link", name=vid).click()
            await page.wait_for_url(f"{base}/cars/{vid}")
            windows = page.locator('svg[data-chart="car"] rect.c-window')
            assert await windows.count() >= 1
            assert await page.locator('svg[data-chart="car"] rect.c-price').count() > 6
            assert await page.locator('svg[data-chart="car"] polyline.c-co2').count() >= 1
            assert await page.locator('svg[data-chart="car"] rect.c-co2-slot').count() > 6
            opened_at = n.timeline.clock().now()
            starts = page.locator('table.commands tr[data-action="START"]')
            if opened_at < first_start:
                assert await starts.count() == 0
            # No reload: the live part refreshes itself until the START shows up.
            await starts.first.wait_for(timeout=90_000)
            # Planned with the intensity: the car's kg CO2 is shown beside its cost.
            co2_kg = await page.locator("dd[data-co2-kg]").get_attribute("data-co2-kg")
            assert co2_kg is not None
            assert float(co2_kg) > 0
            assert "/cars/" in page.url
            assert not await _has_violations(page, "car")
            await page.screenshot(path=ARTIFACTS / "car.png", full_page=True)

            await page.emulate_media(color_scheme="dark")
            assert not await _has_violations(page, "car, dark")
            await page.screenshot(path=ARTIFACTS / "car-dark.png", full_page=True)
            phone = await browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=1,
                storage_state=await page.context.storage_state(),
            )  # fmt: skip
            small = await phone.new_page()
            await small.goto(base + "/")
            await small.locator("table.fleet tbody tr").first.wait_for()
            await small.screenshot(path=ARTIFACTS / "fleet-phone.png", full_page=True)
            await small.goto(base + "/prices")
            assert await small.locator('svg[data-chart="prices"]').count() == 1
            assert not await _has_violations(small, "prices")

            # Checked last, after the car's START: axe takes a while of simulated time.
            await page.emulate_media(color_scheme="light")
            await page.goto(f"{base}/cars/{BOX}")
            assert await page.locator(f"dd[data-charger='{BOX}']").count() == 1
            assert not await _has_violations(page, "charger")
            await page.screenshot(path=ARTIFACTS / "charger.png", full_page=True)
        finally:
            await browser.close()


async def _has_violations(page: Any, what: str) -> list[str]:
    results = await axe_module.Axe().run(page)
    found = [v["id"] for v in results.response["violations"]]
    if found:
        print(f"axe on {what}:", results.generate_report())
    return found
