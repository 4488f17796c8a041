"""Fixtures for integration tests: a running fake Enode (sim) on a FakeClock, spec checks.

Other test packages use them as they are or override `sim_config` / `sim_clock`:

    async def test_x(sim: RunningSim, sim_clock: FakeClock, user_token: str) -> None:
        sim.state.plug(vehicle_id); await sim_clock.advance(3600); ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from enode_scheduler.clock import FakeClock
from enode_scheduler.sim import RunningSim, SimConfig, run_sim
from tests.integration.enode_spec import EnodeSpec, spec_hooks

# A Monday evening in winter: cars plugged in after work, cheap night ahead.
SIM_START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


@pytest.fixture
def sim_clock() -> FakeClock:
    """The sim's time; advance it to let cars charge and commands land."""
    return FakeClock(SIM_START)


@pytest.fixture
def sim_config() -> SimConfig:
    """Four cars of four vendors over two users; override in a module for other fleets.

    Access tokens last a week of sim time so tests that advance the clock by hours keep theirs.
    """
    return SimConfig(vehicles=4, users=2, seed=7, access_token_ttl_s=7 * 24 * 3600)


@pytest.fixture
async def sim(sim_config: SimConfig, sim_clock: FakeClock) -> AsyncIterator[RunningSim]:
    """A sim serving real HTTP on a free loopback port for the test's duration."""
    async with run_sim(sim_config, clock=sim_clock) as running:
        yield running


@pytest.fixture
def enode_spec() -> EnodeSpec:
    """The Enode v1.4 spec (corrected copy), to check requests and responses against."""
    return EnodeSpec()


@pytest.fixture
def user_token(sim: RunningSim) -> str:
    """An access token (scope `all`) of user-1, as if the link flow had run."""
    return sim.state.issue_user_token("user-1").access_token


@pytest.fixture
async def sim_http(
    sim: RunningSim, enode_spec: EnodeSpec, user_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the sim as user-1 that checks every response against the spec."""
    async with httpx.AsyncClient(
        base_url=sim.api_url,
        headers={"Authorization": f"Bearer {user_token}"},
        event_hooks=spec_hooks(enode_spec),
        timeout=5.0,
    ) as client:
        yield client
