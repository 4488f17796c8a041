"""Injected failures: which requests they hit, what they do, and when they wear off."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

FaultKind = Literal["rate_limit", "quota", "server_error", "slow", "timeout", "malformed"]
RetryAfterForm = Literal["seconds", "http_date", "none"]
MalformedForm = Literal["invalid_json", "wrong_types", "missing_fields"]
FAULT_KINDS = ("rate_limit", "quota", "server_error", "slow", "timeout", "malformed")
_ids = itertools.count(1)


@dataclass
class Fault:
    """One injected failure. Filters left as None match everything.

    `count` limits how many requests it hits, `duration_s` how long (sim clock) it lasts; with
    neither it stays until removed. `delay_s` (slow) and `hang_s` (timeout) are real seconds,
    because the client's timeouts are. A fault with no user, vendor or path filter spares the
    OAuth endpoints, so a global 429 does not also break token refresh.

    With `applied`, a timeout, 5xx or 429 answers a request that has already taken effect (the
    command reached the car, the answer was lost); `malformed` always serves the request first.

    `quota` is a vendor's own limit: each user may make `quota_requests` matching requests per
    sliding `quota_window_s` (sim clock); beyond that a 429 whose Retry-After is the time until
    a request fits again.
    """

    kind: FaultKind
    vendor: str | None = None
    user_id: str | None = None
    path_prefix: str | None = None
    method: str | None = None
    count: int | None = None
    duration_s: float | None = None
    retry_after: RetryAfterForm = "seconds"
    retry_after_s: float = 30.0
    status: int = 503
    delay_s: float = 2.0
    hang_s: float = 60.0
    malformed: MalformedForm = "invalid_json"
    applied: bool = False
    quota_requests: int = 10
    quota_window_s: float = 60.0
    id: int = field(default_factory=lambda: next(_ids))
    until: datetime | None = None
    hits: int = 0
    _seen: dict[str | None, deque[datetime]] = field(default_factory=dict, repr=False)

    def within_quota(self, user_id: str | None, now: datetime) -> bool:
        """For `quota`: count this request and say whether it fits the user's window."""
        seen = self._seen.setdefault(user_id, deque())
        window_start = now - timedelta(seconds=self.quota_window_s)
        while seen and seen[0] <= window_start:
            seen.popleft()
        if len(seen) < self.quota_requests:
            seen.append(now)
            return True
        self.retry_after_s = (seen[0] - window_start).total_seconds()
        return False

    def matches(self, *, method: str, path: str, user_id: str | None, vendors: set[str]) -> bool:
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        if self.path_prefix is None and path.startswith("/oauth2"):
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.user_id is not None and self.user_id != user_id:
            return False
        return self.vendor is None or self.vendor in vendors

    def live(self, now: datetime) -> bool:
        if self.count is not None and self.hits >= self.count:
            return False
        return self.until is None or now < self.until

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("until", "_seen")}
        data["until"] = self.until.isoformat() if self.until else None
        return data


class FaultBook:
    """The active faults; the first live one that matches a request wins."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault, *, now: datetime) -> Fault:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        if fault.duration_s is not None:
            fault.until = now + timedelta(seconds=fault.duration_s)
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) < before

    def clear(self) -> None:
        self._faults.clear()

    def all(self, now: datetime) -> list[Fault]:
        self._faults = [f for f in self._faults if f.live(now)]
        return list(self._faults)

    def take(
        self, *, now: datetime, method: str, path: str, user_id: str | None, vendors: set[str]
    ) -> Fault | None:
        """The fault this request hits, counted as used; None when it goes through."""
        for fault in self.all(now):
            if not fault.matches(method=method, path=path, user_id=user_id, vendors=vendors):
                continue
            if fault.kind == "quota" and fault.within_quota(user_id, now):
                continue
            fault.hits += 1
            return fault
        return None
