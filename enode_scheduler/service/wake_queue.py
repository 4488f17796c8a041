"""Cars by the instant they next need the reconciler, so a step touches only the due ones."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from datetime import datetime


class WakeQueue:
    """A min-heap of (wake time, car) with lazy deletion: O(log n) per change, O(1) to peek.

    Scanning every car for its wake time at every step made a step cost O(fleet) and, with a
    fleet's polls spread over the hour, an hour cost O(fleet squared).
    """

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, str]] = []
        self._at: dict[str, datetime] = {}
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._at)

    def set(self, key: str, at: datetime) -> None:
        """Wake `key` at `at` (replacing any earlier wish)."""
        if self._at.get(key) == at:
            return
        self._at[key] = at
        heapq.heappush(self._heap, (at, next(self._order), key))

    def discard(self, key: str) -> None:
        self._at.pop(key, None)

    def clear(self) -> None:
        self._heap.clear()
        self._at.clear()

    def wake_by(self, keys: Iterable[str], when: datetime) -> None:
        """Wake each key at `when` at the latest (an earlier wish stays, and keeps its place)."""
        for key in keys:
            at = self._at.get(key)
            if at is None or at > when:
                self.set(key, when)

    def pop_due(self, now: datetime, *, limit: int | None = None) -> list[str]:
        """Keys due at `now`, earliest first, at most `limit`; each leaves the queue until `set`
        again."""
        due: list[str] = []
        while self._heap and self._heap[0][0] <= now and (limit is None or len(due) < limit):
            at, _, key = heapq.heappop(self._heap)
            if self._at.get(key) == at:
                del self._at[key]
                due.append(key)
        return due

    def earliest(self) -> datetime | None:
        while self._heap and self._at.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None
