"""The demo prints the same numbers on every run, however fast or busy the machine is.

The demo's daemon, fake Enode and books run on a `StepClock`: these tests run its core (the
real daemon over loopback HTTP and SQLite, as `enode-scheduler demo` does) unpaced, once as it
is and once with the fake Enode answering slowly in wall time, and compare every number.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from enode_scheduler.clock import Clock
from enode_scheduler.demo import runner
from enode_scheduler.demo.report import report_json
from enode_scheduler.sim import Fault, RunningSim, SimConfig

SimRunner = Callable[..., AbstractAsyncContextManager[RunningSim]]


async def _numbers() -> dict[str, Any]:
    demo = await runner.run(nights=1, speed=math.inf)
    report = report_json(demo)
    del report["wall_s"]  # the one number that is the machine's
    return report


def _slow_answers(real: SimRunner, *, delay_s: float) -> SimRunner:
    """The real sim, where the Tesla's and the wallbox's cloud take `delay_s` real seconds more
    to answer (the sim's `slow` fault; the BMW keeps its own 429 fault)."""

    @asynccontextmanager
    async def run_sim(config: SimConfig, *, clock: Clock) -> AsyncIterator[RunningSim]:
        async with real(config, clock=clock) as sim:
            for vendor in ("TESLA", "EASEE"):
                sim.state.add_fault(Fault(kind="slow", vendor=vendor, delay_s=delay_s, count=150))
            yield sim

    return run_sim


async def test_the_demo_prints_the_same_numbers_on_every_run_at_any_wall_speed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await _numbers()
    again = await _numbers()
    monkeypatch.setattr(runner, "run_sim", _slow_answers(runner.run_sim, delay_s=0.03))
    slow = await _numbers()

    assert again == first
    assert slow == first
    # the story happened: commands went out at sim times, and money and energy were counted
    cars = {car["id"]: car for car in first["cars"]}
    assert all(car["commands"] for car in cars.values())
    assert cars["demo-bmw"]["rate_limited_responses"] > 0
    assert first["total_cost"] < first["total_baseline_cost"]
