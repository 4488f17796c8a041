"""A failing step's bookkeeping: its backoff, and log lines once per interval, not once per try."""

from __future__ import annotations

import random

# One line per failure episode and then at most one per this many wall seconds.
LOG_INTERVAL_S = 30.0


class FailureState:
    """Consecutive step failures: when to try again, and whether this failure is worth a line.

    The delay doubles from `base_s` up to `cap_s`, drawn from its upper half so that replicas
    hitting one database do not retry in step, and never zero (a failing step retried at once
    spins a core and floods the log).
    """

    def __init__(self, *, base_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        self._base_s = base_s
        self._cap_s = max(cap_s, base_s)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.count = 0
        self.last_error: str | None = None
        self._since_mono: float | None = None
        self._logged_mono: float | None = None
        self._watchdog_logged = False

    @property
    def failing(self) -> bool:
        return self.count > 0

    def failed(self, exc: BaseException, *, now_mono: float) -> bool:
        """Count a failure; True when it should be logged (the first, then once per interval)."""
        self.count += 1
        self.last_error = type(exc).__name__
        if self._since_mono is None:
            self._since_mono = now_mono
        if self._logged_mono is None or now_mono - self._logged_mono >= LOG_INTERVAL_S:
            self._logged_mono = now_mono
            return True
        return False

    def delay_s(self) -> float:
        """Wall seconds to wait before the next try."""
        ceiling = min(self._cap_s, self._base_s * 2.0 ** min(self.count - 1, 30))
        return self._rng.uniform(ceiling / 2, ceiling)

    def succeeded(self, *, now_mono: float) -> tuple[int, float] | None:
        """Reset; returns (failures, seconds) of the episode that just ended, if there was one."""
        self._watchdog_logged = False
        if self.count == 0:
            return None
        since = self._since_mono if self._since_mono is not None else now_mono
        episode = (self.count, now_mono - since)
        self.count, self.last_error = 0, None
        self._since_mono = self._logged_mono = None
        return episode

    def withhold_watchdog(self) -> bool:
        """True the first time the watchdog is withheld in this episode (log it once)."""
        first = not self._watchdog_logged
        self._watchdog_logged = True
        return first
