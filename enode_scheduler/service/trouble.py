"""One car's or one user's failure stays theirs: a status on the car, a slow retry, and a log
line per car per interval instead of one per step."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import structlog

from enode_scheduler.records import CarHealth, CarStatus
from enode_scheduler.service.model import Car

log = structlog.get_logger()

# A car in trouble is logged when its status changes, then at most once per this interval.
LOG_EVERY = timedelta(minutes=15)


class Trouble:
    """Sets and clears the cars' statuses; decides which failures are worth a line."""

    def __init__(self) -> None:
        self._logged: dict[str, datetime] = {}

    def report(
        self,
        cars: Iterable[Car],
        status: CarStatus,
        reason: str,
        *,
        now: datetime,
        retry_at: datetime | None = None,
    ) -> None:
        """Mark the cars; with `retry_at`, no request for them before then (their slow cadence)."""
        for car in cars:
            vid = car.plan.vehicle_id
            changed = car.status is not status or car.status_reason != reason
            if changed:
                car.status, car.status_reason, car.status_since = status, reason, now
            last = self._logged.get(vid)
            if changed or last is None or now - last >= LOG_EVERY:
                self._logged[vid] = now
                log.warning(
                    "vehicle_trouble", vehicle_id=vid, user_id=car.plan.user_id,
                    status=status.value, reason=reason, retry_at=retry_at.isoformat()
                    if retry_at else None,
                )  # fmt: skip
            if retry_at is not None:
                car.next_poll_at = car.poll_not_before = retry_at

    def clear(self, car: Car, *, now: datetime) -> None:
        """The car was read (or handled) fine again."""
        if car.status is CarStatus.OK:
            return
        log.info(
            "vehicle_recovered", vehicle_id=car.plan.vehicle_id, was=car.status.value,
            reason=car.status_reason, at=now.isoformat(),
        )  # fmt: skip
        car.status, car.status_reason, car.status_since = CarStatus.OK, None, None
        self._logged.pop(car.plan.vehicle_id, None)


def health(cars: Iterable[Car]) -> list[CarHealth]:
    """Every planned car's status, for the API, the web page and the metrics."""
    return [
        CarHealth(
            vehicle_id=c.plan.vehicle_id,
            user_id=c.plan.user_id,
            status=c.status,
            reason=c.status_reason,
            since=c.status_since,
        )
        for c in cars
    ]
