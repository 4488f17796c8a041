"""Real processes for end-to-end tests: the `sim` and `run` commands on one shared scaled clock.

Both processes build `ScaledClock(start, speed, anchor_unix)` from the same three numbers, so they
agree on simulated time; the test process builds the same clock to read and write the database.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from enode_scheduler.clock import ScaledClock
from enode_scheduler.planner.models import Slot

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from enode_scheduler.cli import main; main()"]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@dataclass
class Timeline:
    """The shared clock's parameters, passed to every process."""

    start: datetime
    speed: float
    # Time for the processes to start (imports take seconds on a busy machine).
    anchor_unix: float = field(default_factory=lambda: time.time() + 4.0)

    def clock(self) -> ScaledClock:
        return ScaledClock(start=self.start, speed=self.speed, anchor_unix=self.anchor_unix)

    def args(self) -> list[str]:
        return [
            "--speed", str(self.speed), "--start", self.start.isoformat(),
            "--anchor-unix", str(self.anchor_unix),
        ]  # fmt: skip


class Sim:
    """A `enode-scheduler sim` process and its control API."""

    def __init__(
        self, timeline: Timeline, *, command_delay_s: float = 5.0, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "sim", "--port", "0", "--vehicles", "0", "--token-ttl", str(14 * 86400),
             "--command-delay", str(command_delay_s), *timeline.args(), *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=subprocess_env(), text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())
        self.http = httpx.Client(base_url=self.info["control_url"], timeout=10)

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def add_car(self, vehicle_id: str, user_id: str, **fields: Any) -> None:
        self.control("POST", "/vehicles", {"user_id": user_id, "id": vehicle_id, **fields})

    def car(self, vehicle_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", f"/vehicles/{vehicle_id}")
        return result

    def log(self, path_prefix: str = "/vehicles") -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.http.get(
            "/log", params={"path_prefix": path_prefix}
        ).json()
        return entries

    def commands(self, vehicle_id: str) -> list[tuple[datetime, str]]:
        """(sim time, START|STOP) of each accepted command for the vehicle."""
        return [
            (datetime.fromisoformat(e["sim_time"]), json.loads(e["request_body"])["action"])
            for e in self.log(f"/vehicles/{vehicle_id}/charging")
            if e["method"] == "POST" and e["status"] < 300
        ]

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def write_config(
    path: Path, sim: Sim, *, state_dir: Path, database_url: str | None, scheduler: dict[str, Any]
) -> Path:
    info = sim.info
    lines = [
        f'state_dir = "{state_dir}"',
        "[enode]",
        f'client_id = "{info["client_id"]}"',
        f'client_secret = "{info["client_secret"]}"',
        f'api_url = "{info["api_url"]}"',
        f'token_url = "{info["token_url"]}"',
        f'authorize_url = "{info["authorize_url"]}"',
        "max_requests_per_s = 50",
        "[database]",
        "auto_migrate = true",
        *([f'url = "{database_url}"'] if database_url else []),
        "[prices]",
        'source = "file"',
        'zone = "NO1"',
        "[scheduler]",
        *(f"{key} = {value}" for key, value in scheduler.items()),
        "[logging]",
        'level = "info"',
        'format = "json"',
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


class Daemon:
    """A `enode-scheduler run` process logging JSON lines to a file."""

    def __init__(self, config: Path, timeline: Timeline, log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("a")
        self.proc = subprocess.Popen(
            [*CLI, "--config", str(config), "run", *timeline.args()],
            stdout=self._log, stderr=self._log, env=subprocess_env(),
        )  # fmt: skip

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if name is None or event.get("event") == name:
                found.append(event)
        return found

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()

    def terminate(self) -> int:
        self.proc.terminate()
        code = self.proc.wait(timeout=15)
        self._log.close()
        return code


async def until(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Wait for real processes until `check()` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def sim_time(timeline: Timeline, when: datetime) -> None:
    """Wait until the shared clock reads `when`."""
    clock = timeline.clock()
    wait_s = (when - clock.now()).total_seconds() / timeline.speed
    await asyncio.sleep(max(0.0, wait_s))


def charging_intervals(
    commands: list[tuple[datetime, str]], *, delay_s: float, end: datetime
) -> list[tuple[datetime, datetime]]:
    """When the car charged, from the commands it accepted (each acting `delay_s` later)."""
    intervals: list[tuple[datetime, datetime]] = []
    since: datetime | None = None
    for at, action in sorted(commands):
        effective = at + timedelta(seconds=delay_s)
        if action == "START" and since is None:
            since = effective
        elif action == "STOP" and since is not None:
            intervals.append((since, effective))
            since = None
    if since is not None:
        intervals.append((since, end))
    return intervals


def outside_s(
    intervals: list[tuple[datetime, datetime]], windows: list[tuple[datetime, datetime]]
) -> float:
    """Seconds of `intervals` not covered by any of `windows`."""
    total = 0.0
    for a, b in intervals:
        covered, cursor = 0.0, a
        for start, end in sorted(windows):
            lo, hi = max(start, cursor), min(end, b)
            if hi > lo:
                covered += (hi - lo).total_seconds()
                cursor = hi
        total += (b - a).total_seconds() - covered
    return total


def planned_windows(daemon_logs: list[Daemon], vehicle_id: str) -> list[tuple[datetime, datetime]]:
    """Every window of every schedule the daemons computed for the car, from its computation on,
    and each deliberate extension of a last window (`window_extended` until the next STOP)."""
    windows = []
    for daemon in daemon_logs:
        stops = sorted(
            datetime.fromisoformat(e["at"])
            for e in daemon.events("command_sent")
            if e["vehicle_id"] == vehicle_id and e["action"] == "STOP"
        )
        for event in daemon.events("window_extended"):
            if event["vehicle_id"] == vehicle_id:
                at = datetime.fromisoformat(event["at"])
                windows.append((at, next((t for t in stops if t >= at), at)))
        for event in daemon.events("plan_replanned"):
            if event["vehicle_id"] != vehicle_id:
                continue
            at = datetime.fromisoformat(event["at"])
            for start, end in event["window_list"]:
                windows.append(
                    (max(at, datetime.fromisoformat(start)), datetime.fromisoformat(end))
                )
    return windows


def cost_of(
    intervals: list[tuple[datetime, datetime]], slots: list[Slot], power_kw: float
) -> float:
    total = 0.0
    for a, b in intervals:
        for s in slots:
            lo, hi = max(a, s.start), min(b, s.end)
            if hi > lo:
                total += (hi - lo).total_seconds() / 3600 * power_kw * s.price_per_kwh
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_pg_database(server_url: str) -> str:
    name = f"test_daemon_{secrets.token_hex(4)}"
    _pg_admin_sync(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    _pg_admin_sync(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin_sync(server_url: str, sql: str) -> None:
    # A thread of its own: fixtures may need a database while an event loop is running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _pg_admin(server_url, sql)).result()


async def _pg_admin(server_url: str, sql: str) -> None:
    dsn = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
