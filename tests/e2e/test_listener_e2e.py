"""The public listener cannot take the daemon down: 3,000 slow clients on loopback while the
daemon runs a night against the fake Enode (issue 15, section 3). Bounded: 3,000 connections,
one minute of attack."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import free_port, sim_time, until
from tests.e2e.scenario import Night
from tests.e2e.test_daemon_e2e import END, assert_targets_met

pytestmark = pytest.mark.e2e

CONNECTIONS = 3000
HOLD_S = 60.0
# Ten simulated hours in the minute of the attack: every window of the night falls inside it.
SPEED = 600.0
HALF_HEADER = b"POST /webhooks/enode HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Enode-Sig"


def raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the test needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def open_slow(port: int) -> asyncio.StreamWriter | None:
    with contextlib.suppress(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HALF_HEADER)
        await writer.drain()
        return writer
    return None


async def attack(port: int, stop: asyncio.Event) -> int:
    """Open the connections in batches, trickle a byte on each now and then, hold them."""
    writers: list[asyncio.StreamWriter] = []
    for start in range(0, CONNECTIONS, 250):
        batch = await asyncio.gather(*(open_slow(port) for _ in range(start, start + 250)))
        writers.extend(w for w in batch if w is not None)
    opened = len(writers)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=2.0)
        for writer in writers:
            with contextlib.suppress(Exception):
                writer.write(b"a")  # slowloris: a byte at a time, never the end of the headers
    for writer in writers:
        writer.transport.abort()
    return opened


async def test_three_thousand_slow_clients_do_not_take_the_daemon_down(tmp_path: Path) -> None:
    raise_file_limit(CONNECTIONS + 1024)
    night = Night(tmp_path, database_url=None, speed=SPEED)
    try:
        await night.seed()
        port = free_port()
        night.config.write_text(night.config.read_text() + f'[api]\nlisten = "127.0.0.1:{port}"\n')
        daemon = night.start_daemon()
        await until(lambda: bool(daemon.events("daemon_started")), timeout_s=30, what="start")
        log_before = daemon.log_path.stat().st_size
        stop = asyncio.Event()
        attacker = asyncio.create_task(attack(port, stop))
        await asyncio.sleep(HOLD_S)
        stop.set()
        opened = await attacker
        ended = time.monotonic()
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() - ended < 2.0, "/healthz did not answer within 2 s"
                await asyncio.sleep(0.05)
        assert opened > 0
        assert daemon.events("reconcile_failed") == []
        assert daemon.events("task_crashed") == []
        assert daemon.log_path.stat().st_size - log_before < 1_000_000
        await sim_time(night.timeline, END)
        assert await asyncio.to_thread(daemon.terminate) == 0
        # Commands went out on time: every car met its goal through the attack.
        assert_targets_met(night)
        assert daemon.events("api_slow_connections_closed")
    finally:
        night.close()
