"""`enode-scheduler sim` as a separate process: the ready line, serving, a clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from enode_scheduler.clock import ScaledClock
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e
READY_KEYS = {"api_url", "token_url", "authorize_url", "client_id", "client_secret"}
CLI = [sys.executable, "-c", "from enode_scheduler.cli import main; main()", "sim"]


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )


@pytest.fixture
async def sim_process() -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, object]]]:
    args = ["--port", "0", "--vehicles", "3", "--users", "2", "--seed", "5"]
    args += ["--speed", "120", "--start", "2026-03-01T12:00:00Z", "--anchor-unix", "1000"]
    process = await _spawn(*args)
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    try:
        yield process, json.loads(line)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_the_ready_line_and_a_clean_sigterm(
    sim_process: tuple[asyncio.subprocess.Process, dict[str, object]],
) -> None:
    process, ready = sim_process
    assert set(ready) >= READY_KEYS | {"control_url", "clock_start", "clock_speed"}
    api_url = str(ready["api_url"])
    assert api_url.startswith("http://127.0.0.1:")
    assert not api_url.endswith(":0")
    assert ready["clock_speed"] == 120.0
    assert ready["clock_anchor_unix"] == 1000.0
    assert ready["users"] == ["user-1", "user-2"]
    async with httpx.AsyncClient() as http:
        assert (await http.get(api_url + "/health/ready")).status_code == 204
        token = await http.post(
            str(ready["token_url"]),
            data={"grant_type": "client_credentials"},
            auth=(str(ready["client_id"]), str(ready["client_secret"])),
        )
        assert token.status_code == 200
        info = (await http.get(str(ready["control_url"]) + "/info")).json()
    # Another process building the same clock agrees with the sim's time.
    same = ScaledClock(start=datetime(2026, 3, 1, 12, tzinfo=UTC), speed=120, anchor_unix=1000)
    assert abs((datetime.fromisoformat(info["now"]) - same.now()).total_seconds()) < 120 * 5
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    assert process.stdout is not None
    assert await process.stdout.read() == b""


async def test_a_bad_start_is_one_line_and_exit_2() -> None:
    process = await _spawn("--start", "yesterday-ish")
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert b"--start" in stderr
    assert b"Traceback" not in stderr
