"""The daemon with a CO2 file source: intensity stored, plans follow it, /metrics shows kg CO2."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx

from enode_scheduler.bootstrap import build
from enode_scheduler.clock import ScaledClock
from enode_scheduler.config import Co2FileSettings, Co2Settings
from enode_scheduler.daemon.app import Daemon
from enode_scheduler.sim import RunningSim
from tests.integration.api.test_daemon_api import until as until_async
from tests.unit.daemon.support import add_plan, daemon_settings, link_user
from tests.unit.daemon.test_app import DEADLINE, START, clock, sim, until  # noqa: F401


def _intensity_file(path: Path) -> Path:
    """Hourly intensity: clean (40 g) from 19:00 to 22:00 UTC on the plan's night, else 420 g."""
    lines = ["start_utc,g_co2_per_kwh"]
    for hour in range(-2, 20):
        moment = START + timedelta(hours=hour)
        grams = 40 if 19 <= moment.hour < 22 else 420
        lines.append(f"{moment:%Y-%m-%dT%H:%M:%SZ},{grams}")
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_co2_mode_plans_on_intensity_and_reports_it(
    tmp_path: Path,
    sim: RunningSim,  # noqa: F811
    clock: ScaledClock,  # noqa: F811
) -> None:
    settings = daemon_settings(tmp_path, sim, listen="127.0.0.1:0")
    co2 = Co2Settings(
        source="file", mode="co2", file=Co2FileSettings(path=_intensity_file(tmp_path / "co2.csv"))
    )
    settings = settings.model_copy(update={"co2": co2})
    async with build(settings, clock=clock) as deps:
        assert deps.intensity is not None
        await link_user(deps.store, sim, "u1", now=clock.now())
        await add_plan(
            deps.store, "car-1", "u1", target=60.0, deadline=DEADLINE,
            location_id=sim.state.home_location_id("u1"),
        )  # fmt: skip
        daemon = Daemon(deps, install_signals=False, holder="test")
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready_event.wait(), timeout=10)
        stored = await deps.store.intensity.get_intensity(
            "file:NO1", start=START, end=START + timedelta(hours=12)
        )
        assert len(stored) >= 12

        async def co2_schedule() -> bool:
            record = await deps.store.schedules.get_schedule("car-1")
            return record is not None and record.schedule.co2_kg > 0

        await until_async(co2_schedule)
        record = await deps.store.schedules.get_schedule("car-1")
        assert record is not None
        # every window in the clean hours (the cheapest of their quarters break the tie)
        clean = (START.replace(hour=19), START.replace(hour=22))
        assert all(clean[0] <= w.start and w.end <= clean[1] for w in record.schedule.windows)
        assert record.schedule.co2_kg < record.schedule.baseline_co2_kg
        base = f"http://127.0.0.1:{daemon.health_port}"
        async with httpx.AsyncClient(base_url=base) as http:
            metrics = (await http.get("/metrics")).text
        assert "enode_scheduler_planned_co2_kg " in metrics
        assert "enode_scheduler_planned_co2_saving_kg " in metrics
        daemon.stop()
        assert await asyncio.wait_for(task, timeout=15) == 0
