"""`/_sim/locations/{id}/power`: the summed charging power of the cars at one location."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import RunningSim, SimConfig


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(vehicles=0, users=1, seed=3, access_token_ttl_s=7 * 24 * 3600)


@pytest.fixture
async def control(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.control_url) as client:
        yield client


async def _add(control: httpx.AsyncClient, vid: str, kw: float, *, charging: bool) -> None:
    response = await control.post(
        "/vehicles",
        json={"user_id": "user-1", "id": vid, "vendor": "TESLA", "capacity_kwh": 100.0,
              "max_charge_kw": kw, "soc_percent": 10.0, "charge_limit_percent": 100.0,
              "plugged_in": True, "charging": charging, "reasons": []},
    )  # fmt: skip
    assert response.status_code == 200, response.text


async def test_peak_and_time_above_a_threshold_per_location(
    sim: RunningSim, control: httpx.AsyncClient, sim_clock: FakeClock
) -> None:
    await _add(control, "a", 7.4, charging=True)
    await _add(control, "b", 7.4, charging=False)
    home = (await control.get("/vehicles/a")).json()["charging_location_id"]
    assert home is not None
    await sim_clock.advance(1800)  # a alone: 7.4 kW for half an hour
    await control.patch("/vehicles/b", json={"plugged_in": False})
    await control.patch("/vehicles/b", json={"plugged_in": True})  # charges on plug-in
    assert (await control.get("/vehicles/b")).json()["charging"] is True
    await sim_clock.advance(600)  # both: 14.8 kW for ten minutes
    sim.state.command("b", "STOP")
    await sim_clock.advance(600)
    power = (await control.get(f"/locations/{home}/power", params={"above_kw": 11})).json()
    delay = sim.state.command_delay("TESLA")
    assert power["peak_kw"] == pytest.approx(14.8)
    assert power["seconds_above"] == pytest.approx(600 + delay)
    below = (await control.get(f"/locations/{home}/power", params={"above_kw": 14.8})).json()
    assert below["seconds_above"] == 0
    # A car elsewhere does not count here.
    await control.patch("/vehicles/a", json={"charging_location_id": "elsewhere"})
    await sim_clock.advance(600)
    again = (await control.get(f"/locations/{home}/power", params={"above_kw": 11})).json()
    assert again == power
    elsewhere = (await control.get("/locations/elsewhere/power")).json()
    assert elsewhere["peak_kw"] == pytest.approx(7.4)
    assert elsewhere["seconds_above"] == pytest.approx(600)  # above the default 0 kW
    assert (await control.delete("/power")).status_code == 200
    reset = (await control.get(f"/locations/{home}/power", params={"above_kw": 0})).json()
    assert reset == {"peak_kw": 0.0, "seconds_above": 0.0}
    bad = await control.get(f"/locations/{home}/power", params={"above_kw": "lots"})
    assert bad.status_code == 400
    assert "above_kw" in bad.json()["error"]
