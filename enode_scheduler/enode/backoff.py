"""Cooldown gates per (user, vendor), vendor outage pauses and a global pace limit.

All of it runs on the injected Clock, so tests drive hours of backoff with a FakeClock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from enode_scheduler.clock import Clock
from enode_scheduler.exceptions import EnodeGateClosed, EnodeVendorOutage
from enode_scheduler.records import RateGate

# A vendor paused for an outage is re-checked by the next /health/vendors call; callers are told
# to come back after this long.
OUTAGE_RECHECK_S = 60.0

GateKey = tuple[str | None, str | None]


def full_jitter_s(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """A delay drawn uniformly from [0, min(cap, base * 2**attempt)] (AWS "full jitter")."""
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt, 60))
    return rng.uniform(0.0, ceiling)


# After a gate reopens, its requests leave this far apart until one succeeds: a probe first,
# not every request queued behind the gate at the same instant.
REOPEN_SPACING_S = 1.0


@dataclass
class _Gate:
    closed_until: datetime | None = None
    consecutive_429: int = 0
    next_slot: datetime | None = None


class GateBook:
    """Cooldown gates keyed by (user_id, vendor); a None vendor is the user's vendor-wide gate.

    A request for a known vendor waits on its own gate and the user's vendor-wide gate; a request
    whose vendor is unknown (e.g. listing all vehicles) waits on every gate of that user.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        backoff_base_s: float,
        backoff_cap_s: float,
        retry_after_max_s: float,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._base_s = backoff_base_s
        self._cap_s = backoff_cap_s
        self._max_s = retry_after_max_s
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._gates: dict[GateKey, _Gate] = {}
        self._paused_vendors: set[str] = set()
        self.closed_seconds_total = 0.0
        # Gates changed since the last `take_changes()`, for the daemon to store.
        self._changed: set[GateKey] = set()

    def reopens_in_s(self, user_id: str | None, vendor: str | None) -> float:
        """Seconds until a request for (user, vendor) may go out; 0 when it may go now."""
        if vendor is not None and vendor in self._paused_vendors:
            return OUTAGE_RECHECK_S
        now = self._clock.now()
        waits = [
            (gate.closed_until - now).total_seconds()
            for key, gate in self._gates.items()
            if gate.closed_until is not None and self._applies(key, user_id, vendor)
        ]
        return max([0.0, *waits])

    def check(self, user_id: str | None, vendor: str | None) -> None:
        """Raise EnodeGateClosed when a request for (user, vendor) must not be sent now."""
        if vendor is not None and vendor in self._paused_vendors:
            raise EnodeVendorOutage(
                f"vendor {vendor} is in OUTAGE (Enode /health/vendors)",
                reopens_in_s=OUTAGE_RECHECK_S,
            )
        wait_s = self.reopens_in_s(user_id, vendor)
        if wait_s > 0:
            raise EnodeGateClosed(
                f"gate closed for user={user_id} vendor={vendor}", reopens_in_s=wait_s
            )

    def close(
        self, user_id: str | None, vendor: str | None, *, retry_after_s: float | None
    ) -> float:
        """Close the gate after a 429; return how long it stays closed, in seconds."""
        gate = self._gates.setdefault((user_id, vendor), _Gate())
        if retry_after_s is not None:
            wait_s = min(retry_after_s, self._max_s)
        else:
            wait_s = full_jitter_s(
                gate.consecutive_429, base_s=self._base_s, cap_s=self._cap_s, rng=self._rng
            )
        gate.consecutive_429 += 1
        until = self._clock.now() + timedelta(seconds=wait_s)
        if gate.closed_until is None or until > gate.closed_until:
            gate.closed_until = until
        gate.next_slot = None
        self.closed_seconds_total += wait_s
        self._changed.add((user_id, vendor))
        return wait_s

    def reopen_wait_s(self, user_id: str | None, vendor: str | None) -> float:
        """Seconds this request waits behind earlier ones at a reopened gate (its slot is taken).

        Until a request through a reopened gate succeeds, they leave `REOPEN_SPACING_S` apart.
        """
        now = self._clock.now()
        wait_s = 0.0
        for key, gate in self._gates.items():
            reopened = gate.closed_until is not None and gate.closed_until <= now
            if not reopened or not self._applies(key, user_id, vendor):
                continue
            slot = now if gate.next_slot is None or gate.next_slot < now else gate.next_slot
            gate.next_slot = slot + timedelta(seconds=REOPEN_SPACING_S)
            wait_s = max(wait_s, (slot - now).total_seconds())
        return wait_s

    def restore(self, gates: list[RateGate]) -> None:
        """Gates stored before a restart: a vendor's closed gate stays closed."""
        for stored in gates:
            if stored.closed_until is None:
                continue
            key = (stored.user_id, stored.vendor)
            gate = self._gates.setdefault(key, _Gate())
            if gate.closed_until is None or stored.closed_until > gate.closed_until:
                gate.closed_until = stored.closed_until
            gate.consecutive_429 = max(gate.consecutive_429, stored.consecutive_429)

    def take_changes(self) -> list[RateGate]:
        """The gates closed or reset since the last call (a reset one has `closed_until` None)."""
        changes = []
        for key in self._changed:
            gate = self._gates.get(key)
            user_id, vendor = key
            if gate is None:
                changes.append(RateGate(user_id, vendor, None))
            else:
                changes.append(RateGate(user_id, vendor, gate.closed_until, gate.consecutive_429))
        self._changed.clear()
        return changes

    def keep_changes(self, changes: list[RateGate]) -> None:
        """Changes that could not be stored: offer them again at the next `take_changes()`."""
        self._changed.update((g.user_id, g.vendor) for g in changes)

    def succeeded(self, user_id: str | None, vendor: str | None) -> None:
        """A success resets the backoff of that gate, unless the gate closed meanwhile."""
        gate = self._gates.get((user_id, vendor))
        # A success answering a request sent before another one's 429 must not reopen the gate.
        if gate is not None and (
            gate.closed_until is None or gate.closed_until <= self._clock.now()
        ):
            del self._gates[(user_id, vendor)]
            self._changed.add((user_id, vendor))

    def consecutive_429(self, user_id: str | None, vendor: str | None) -> int:
        gate = self._gates.get((user_id, vendor))
        return gate.consecutive_429 if gate else 0

    def set_paused_vendors(self, vendors: set[str]) -> None:
        """Vendors in OUTAGE: their requests are refused until a later health check clears them."""
        self._paused_vendors = set(vendors)

    @property
    def paused_vendors(self) -> frozenset[str]:
        return frozenset(self._paused_vendors)

    @staticmethod
    def _applies(key: GateKey, user_id: str | None, vendor: str | None) -> bool:
        gate_user, gate_vendor = key
        if gate_user != user_id:
            return False
        return vendor is None or gate_vendor is None or gate_vendor == vendor


class Pacer:
    """Global pace limit: requests leave at least 1/rate seconds apart, in arrival order."""

    def __init__(self, clock: Clock, *, max_requests_per_s: float) -> None:
        self._clock = clock
        self._interval = timedelta(seconds=1.0 / max_requests_per_s)
        self._next_slot: datetime | None = None
        self.waited_seconds_total = 0.0

    @property
    def max_requests_per_s(self) -> float:
        return 1.0 / self._interval.total_seconds()

    def set_rate(self, max_requests_per_s: float) -> None:
        """A new rate for the requests reserved from now on (those already given a slot keep
        it)."""
        self._interval = timedelta(seconds=1.0 / max_requests_per_s)

    def reserve_s(self) -> float:
        """Take the next free send slot; return how long to wait for it."""
        now = self._clock.now()
        slot = now if self._next_slot is None or self._next_slot < now else self._next_slot
        self._next_slot = slot + self._interval
        return (slot - now).total_seconds()

    async def wait(self) -> None:
        delay_s = self.reserve_s()
        if delay_s > 0:
            self.waited_seconds_total += delay_s
            await self._clock.sleep(delay_s)
