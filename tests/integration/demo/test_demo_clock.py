"""The demo prints the same numbers on every run, however fast or busy the machine is.

The demo's daemon, fake Enode and books run on a `StepClock`: this test runs its core (the
real daemon over loopback HTTP and SQLite, as `enode-scheduler demo` does) unpaced twice, the
second time with the fake Enode answering slower in wall time, and compares every number. (On
the old accelerated wall clock two plain runs already differed, by 3 % in the total baseline.)
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


def _slow_answers(real: SimRunner, faults: list[Fault], *, delay_s: float) -> SimRunner:
    """The real sim, where the Tesla's and the wallbox's cloud take `delay_s` real seconds more
    to answer (the sim's `slow` fault, kept in `faults`; the BMW keeps its own 429 fault)."""

    @asynccontextmanager
    async def run_sim(config: SimConfig, *, clock: Clock) -> AsyncIterator[RunningSim]:
        async with real(config, clock=clock) as sim:
            for vendor in ("TESLA", "EASEE"):
                slow = Fault(kind="slow", vendor=vendor, delay_s=delay_s, count=SLOW_ANSWERS)
                faults.append(sim.state.add_fault(slow))
            yield sim

    return run_sim


SLOW_ANSWERS = 100  # per maker: 200 answers, 6 s of wall time at 30 ms


async def test_the_demo_prints_the_same_numbers_on_every_run_at_any_wall_speed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await _numbers()
    slowed: list[Fault] = []
    monkeypatch.setattr(runner, "run_sim", _slow_answers(runner.run_sim, slowed, delay_s=0.03))
    again = await _numbers()

    assert [fault.hits for fault in slowed] == [SLOW_ANSWERS, SLOW_ANSWERS]  # it was slower
    assert again == first
    # the story happened: commands went out at sim times, and money and energy were counted
    cars = {car["id"]: car for car in first["cars"]}
    assert all(car["commands"] for car in cars.values())
    assert cars["demo-bmw"]["rate_limited_responses"] > 0
    assert first["total_cost"] < first["total_baseline_cost"]
