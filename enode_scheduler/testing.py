"""In-memory twins of the ports, for fast unit tests and embedding. They really work; no mocks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from enode_scheduler.clock import FakeClock
from enode_scheduler.exceptions import PriceError, PricesNotPublished
from enode_scheduler.planner.models import Slot
from enode_scheduler.ports import UserTokens

__all__ = ["FakeClock", "InMemoryPriceSlotStore", "InMemoryPriceSource", "InMemoryTokenStore"]


# Price slot store twin


class InMemoryPriceSlotStore:
    """PriceSlotStore keeping slots per (zone, start) in a dict."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, datetime], Slot] = {}

    async def upsert_slots(self, zone: str, slots: Sequence[Slot]) -> int:
        changed = 0
        for slot in slots:
            key = (zone, slot.start)
            if self._slots.get(key) != slot:
                self._slots[key] = slot
                changed += 1
        return changed

    async def get_slots(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        found = [
            s for (z, _), s in self._slots.items() if z == zone and s.end > start and s.start < end
        ]
        return sorted(found, key=lambda s: s.start)


class InMemoryPriceSource:
    """PriceSource serving what a test `publish`es; `fail_with` makes every fetch raise."""

    def __init__(self) -> None:
        self._slots: dict[str, dict[datetime, Slot]] = {}
        self.failure: PriceError | None = None
        self.fetches = 0

    def publish(self, zone: str, slots: Sequence[Slot]) -> None:
        self._slots.setdefault(zone, {}).update((s.start, s) for s in slots)

    def fail_with(self, error: PriceError | None) -> None:
        self.failure = error

    async def fetch(self, zone: str, *, start: datetime, end: datetime) -> list[Slot]:
        self.fetches += 1
        if self.failure is not None:
            raise self.failure
        found = [s for s in self._slots.get(zone, {}).values() if s.end > start and s.start < end]
        if not found:
            raise PricesNotPublished(f"in-memory: no prices for {zone} from {start.isoformat()}")
        return sorted(found, key=lambda s: s.start)


# Enode token store twin


class InMemoryTokenStore:
    """A `ports.TokenStore` in a dict; records who was marked for re-linking and why."""

    def __init__(self) -> None:
        self.tokens: dict[str, UserTokens] = {}
        self.needs_relink: dict[str, str] = {}
        self.saves = 0

    async def get_tokens(self, user_id: str) -> UserTokens | None:
        return self.tokens.get(user_id)

    async def save_tokens(self, user_id: str, tokens: UserTokens) -> None:
        self.tokens[user_id] = tokens
        self.needs_relink.pop(user_id, None)
        self.saves += 1

    async def mark_needs_relink(self, user_id: str, *, reason: str) -> None:
        self.needs_relink[user_id] = reason
