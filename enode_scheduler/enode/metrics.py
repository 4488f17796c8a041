"""In-process counters the daemon's /metrics endpoint reads; no metrics library needed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class EnodeMetrics:
    """Requests by (operation, status), 429s, refusals at closed gates, and time spent gated.

    `status` is the HTTP status as text, or "transport" when no answer came. Requests refused at
    a closed gate were never sent and are counted only in `gate_refusals`.
    """

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)
    gate_refusals: Counter[str] = field(default_factory=Counter)
    token_refreshes: Counter[str] = field(default_factory=Counter)
    gated_seconds_total: float = 0.0
    paced_seconds_total: float = 0.0

    def record(self, operation: str, status: int | str) -> None:
        self.requests[(operation, str(status))] += 1
        if status == 429:
            self.rate_limited[operation] += 1

    def sent_total(self) -> int:
        return sum(self.requests.values())

    def snapshot(self) -> dict[str, object]:
        """A plain-data copy, safe to serialise."""
        return {
            "requests": {f"{op} {status}": n for (op, status), n in sorted(self.requests.items())},
            "rate_limited": dict(self.rate_limited),
            "gate_refusals": dict(self.gate_refusals),
            "token_refreshes": dict(self.token_refreshes),
            "gated_seconds_total": self.gated_seconds_total,
            "paced_seconds_total": self.paced_seconds_total,
        }
