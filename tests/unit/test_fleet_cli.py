"""The fleet benchmark's replica options are checked before anything starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.harness import REPO, subprocess_env


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--replicas", "3"], "--replicas 3 needs --db postgres"),
        (["--replicas", "1", "--kill-replica-at", "0.5", "--db", "postgres"], "--replicas 2"),
        (["--replicas", "3", "--kill-replica-at", "1.5", "--db", "postgres"], "1.5"),
    ],
    ids=["several-on-sqlite", "kill-the-only-one", "fraction-past-the-end"],
)
def test_bad_replica_options_are_one_line_and_exit_2(args: list[str], named: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/fleet.py"), "--vehicles", "10", *args],
        capture_output=True, text=True, env=subprocess_env(), timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("fleet.py: ")
    assert named in line
