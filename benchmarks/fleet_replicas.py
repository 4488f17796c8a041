"""The daemon replicas of a fleet run: processes started, killed, paused and restarted, and the
CPU each replica slot used, from /proc, across the processes it ran."""

from __future__ import annotations

import os
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tests.e2e.harness import Daemon, Timeline


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class ReplicaFault:
    """One replica killed (kill -9, restarted `for_s` wall seconds later) or paused (SIGSTOP,
    SIGCONT `for_s` later) at `at_fraction` of the measured window."""

    kind: Literal["kill", "pause"]
    at_fraction: float
    for_s: float


@dataclass
class Replica:
    """One replica slot: the process now running and those it ran before (a kill restarts it)."""

    index: int
    config: Path
    log_dir: Path
    client_host: str | None = None  # its own source address towards the sim, when tagged
    processes: list[Daemon] = field(default_factory=list)
    # CPU seconds of each process at the start of the measured window (0 for later ones).
    _cpu_base: dict[int, float] = field(default_factory=dict)
    _cpu_final: dict[int, float] = field(default_factory=dict)
    _rss_mb: float = 0.0
    paused: bool = False

    @property
    def daemon(self) -> Daemon:
        return self.processes[-1]

    @property
    def holder(self) -> str:
        """The lease holder name the daemon gives itself (default_holder: host and pid)."""
        return f"{socket.gethostname()}:{self.daemon.proc.pid}"

    def alive(self) -> bool:
        return self.daemon.proc.poll() is None

    def start(self, timeline: Timeline) -> Daemon:
        log = self.log_dir / f"replica{self.index}-{len(self.processes)}.log"
        daemon = Daemon(self.config, timeline, log)
        self.processes.append(daemon)
        self._cpu_base[daemon.proc.pid] = 0.0
        return daemon

    def measure_from_now(self) -> None:
        """The measured window starts: CPU spent on start-up until now is not counted."""
        pid = self.daemon.proc.pid
        self._cpu_base[pid] = cpu_s(pid)

    def kill(self) -> None:
        self._sample()
        self.daemon.kill()

    def pause(self) -> None:
        os.kill(self.daemon.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.daemon.proc.pid, signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        """The measured window ends: CPU and peak RSS sampled, then a clean shutdown."""
        if not self.alive():
            return
        if self.paused:
            self.resume()
        self._sample()
        self.daemon.terminate()

    def cpu_s(self) -> float:
        """CPU seconds of the slot's processes in the measured window (so far, if running)."""
        total = 0.0
        for daemon in self.processes:
            pid = daemon.proc.pid
            final = self._cpu_final.get(pid)
            if final is None and daemon.proc.poll() is None:
                final = cpu_s(pid)
            if final is not None:  # else it died unobserved: its CPU is lost with its /proc
                total += final - self._cpu_base.get(pid, 0.0)
        return total

    def peak_rss_mb(self) -> float:
        return self._rss_mb

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        return [e for daemon in self.processes for e in daemon.events(name)]

    def _sample(self) -> None:
        pid = self.daemon.proc.pid
        self._cpu_final[pid] = cpu_s(pid)
        self._rss_mb = max(self._rss_mb, peak_rss_mb(pid))
