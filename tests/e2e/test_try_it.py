"""The README's "Try it yourself" block, run as written: sim, link, plan, the real daemon.

The block is taken from README.md between its marker comment and the end of the code fence and
run by bash in an empty directory, with `enode-scheduler` on PATH meaning this checkout. Then the
commands that reached the fake Enode (the block's last output line) are checked against the
windows the daemon planned (its `plan_replanned` log lines).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import REPO, subprocess_env

pytestmark = pytest.mark.e2e

MARKER = "<!-- try-it-yourself:"
PORT = 8700
# 1,200 simulated seconds per wall second: a 60 s safety tick, the car's 5 s command delay and a
# quarter-second of wall latency on a busy machine come to about 6 simulated minutes.
SLACK = timedelta(minutes=10)


def readme_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text[text.index(MARKER) :]
    body = after[after.index("```sh\n") + len("```sh\n") :]
    return body[: body.index("```\n")]


def _shim(bin_dir: Path) -> None:
    """`enode-scheduler` meaning this checkout, whatever is installed."""
    bin_dir.mkdir()
    shim = bin_dir / "enode-scheduler"
    shim.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -c '
        f"'from enode_scheduler.cli import main; main()' \"$@\"\n"
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)


def run_block(script: str, *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the block in its own process group, and end that group whatever happened, so a
    failing step leaves no sim or daemon behind holding the port."""
    proc = subprocess.Popen(
        ["bash", "-e", "-c", script], cwd=cwd, env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the sim binds: a connection of an earlier run in TIME_WAIT does not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _events(log: Path, name: str) -> list[dict[str, Any]]:
    found = []
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == name:
            found.append(event)
    return found


def test_readme_try_it_block_runs_and_the_commands_follow_the_plan(tmp_path: Path) -> None:
    assert _port_free(PORT), f"port {PORT} (the README's sim) is taken"
    _shim(tmp_path / "bin")
    env = subprocess_env()
    env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}"
    work = tmp_path / "work"
    work.mkdir()
    done = run_block(readme_block(), cwd=work, env=env)
    log = work / "daemon.log"
    context = f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, context

    # The plan met its target, and `plans list` says so.
    assert "met" in done.stdout, context
    outcomes = _events(log, "plan_outcome")
    assert [e["outcome"] for e in outcomes] == ["met"], outcomes

    commands = json.loads(done.stdout.strip().splitlines()[-1])
    accepted = [(datetime.fromisoformat(c["sim_time"]), c["action"]) for c in commands]
    assert all(c["status"] < 300 for c in commands), commands
    actions = [a for _, a in accepted]
    assert {"START", "STOP"} <= set(actions), commands

    schedules = _schedules(log)
    assert any(windows for _, windows in schedules), "the daemon planned no window"
    for at, action in accepted:
        windows = _in_force(schedules, at)
        if action == "START":
            assert any(abs(at - start) <= SLACK for start, _ in windows), (at, windows)
        else:
            # A STOP ends charging outside the windows: at a window's end, or on plug-in (the
            # car started on its own and the first window lies ahead).
            inside = any(start + SLACK < at < end - SLACK for start, end in windows)
            assert not inside, (at, windows)


Windows = list[tuple[datetime, datetime]]


def _schedules(log: Path) -> list[tuple[datetime, Windows]]:
    """Each schedule the daemon computed: when, and its windows."""
    found = []
    for event in _events(log, "plan_replanned"):
        windows = [
            (datetime.fromisoformat(start), datetime.fromisoformat(end))
            for start, end in event["window_list"]
        ]
        found.append((datetime.fromisoformat(event["at"]), windows))
    return sorted(found)


def _in_force(schedules: list[tuple[datetime, Windows]], at: datetime) -> Windows:
    """The windows of the latest schedule computed before `at` (none before the first)."""
    earlier = [windows for computed, windows in schedules if computed <= at]
    return earlier[-1] if earlier else []
