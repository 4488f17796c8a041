"""The outbox worker: events fan out to the targets that want them, are written to the outbox,
and are delivered from there with backoff, at least once, and at most `max_per_hour` messages per
target: a burst goes out as one summary, not one message per event.

`publish` only writes rows (the reconcile loop calls it); `deliver_due` does the sending and runs
in a task of its own, so a slow target never holds up a reconcile step.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from enode_scheduler.config import NotifyTarget
from enode_scheduler.notify.targets import DeliveryFailed, Target, summarize
from enode_scheduler.ports import OutboxStore
from enode_scheduler.records import NotifyEvent, OutboxEntry

__all__ = ["DispatchReport", "Notifications"]

log = structlog.get_logger()

# More due events than this for one target in one round are sent as one summary.
BURST = 3
BATCH = 500
RETRY_BASE_S = 30.0
RETRY_CAP_S = 3600.0
MAX_ATTEMPTS = 40
_HOUR = timedelta(hours=1)


@dataclass(slots=True)
class DispatchReport:
    delivered: int = 0
    messages: int = 0
    summaries: int = 0
    failed: int = 0
    deferred: int = 0


class Notifications:
    """Fan-out, outbox and delivery for the configured `[[notify]]` targets."""

    def __init__(
        self,
        outbox: OutboxStore,
        targets: Mapping[str, Target],
        settings: Sequence[NotifyTarget],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._outbox = outbox
        self._targets = dict(targets)
        self._wants = {t.name: frozenset(t.events) for t in settings}
        self._per_hour = {t.name: t.max_per_hour for t in settings}
        self._recent: dict[str, deque[datetime]] = {name: deque() for name in self._targets}
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets

    @property
    def enabled(self) -> bool:
        return bool(self._targets)

    async def publish(self, events: Sequence[NotifyEvent], *, now: datetime) -> int:
        """Write each event once per target that wants its kind; returns the new rows."""
        entries = [
            OutboxEntry(event=e, target=name, next_attempt_at=now)
            for e in events
            for name in self._targets
            if e.kind.value in self._wants.get(name, ())
        ]
        for e in events:
            log.info("notify_event", kind=e.kind.value, event_id=e.event_id)
        return await self._outbox.enqueue(entries) if entries else 0

    async def deliver_due(self, *, now: datetime) -> DispatchReport:
        report = DispatchReport()
        due = await self._outbox.due(now, limit=BATCH)
        by_target: dict[str, list[OutboxEntry]] = {}
        for entry in due:
            by_target.setdefault(entry.target, []).append(entry)
        for name, entries in by_target.items():
            target = self._targets.get(name)
            if target is None:
                # A target removed from the configuration: its rows wait, harmless.
                continue
            await self._deliver(target, entries, now=now, report=report)
        return report

    async def _deliver(
        self, target: Target, entries: list[OutboxEntry], *, now: datetime, report: DispatchReport
    ) -> None:
        recent = self._recent.setdefault(target.name, deque())
        while recent and now - recent[0] >= _HOUR:
            recent.popleft()
        capacity = self._per_hour.get(target.name, 20) - len(recent)
        if capacity <= 0:
            until = recent[0] + _HOUR
            await self._outbox.defer([_id(e) for e in entries], until=until)
            report.deferred += len(entries)
            return
        one_by_one = len(entries) <= min(capacity, BURST)
        batches = [[e] for e in entries] if one_by_one else [entries]
        for batch in batches:
            message = summarize([e.event for e in batch])
            try:
                await target.send(message, now=now)
            except DeliveryFailed as exc:
                await self._failed(target.name, batch, error=str(exc), now=now, report=report)
                continue
            recent.append(now)
            await self._outbox.mark_delivered([_id(e) for e in batch], at=now)
            report.delivered += len(batch)
            report.messages += 1
            report.summaries += int(message.summary)
            log.info(
                "notify_delivered", target=target.name, events=len(batch), summary=message.summary
            )

    async def _failed(
        self,
        name: str,
        batch: list[OutboxEntry],
        *,
        error: str,
        now: datetime,
        report: DispatchReport,
    ) -> None:
        for entry in batch:
            attempts = entry.attempts + 1
            delay_s = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (attempts - 1))
            delay_s *= 0.5 + self._rng.random() / 2
            dead = attempts >= MAX_ATTEMPTS
            await self._outbox.mark_failed(
                _id(entry), error=error, next_attempt_at=now + timedelta(seconds=delay_s), dead=dead
            )
        report.failed += len(batch)
        log.warning("notify_failed", target=name, events=len(batch), error=error)


def _id(entry: OutboxEntry) -> int:
    assert entry.entry_id is not None
    return entry.entry_id
