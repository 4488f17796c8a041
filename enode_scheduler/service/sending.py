"""Sending a step's start/stop commands: recorded as sent in one fenced write, then posted
concurrently, each stamped with when it went out so that its verification waits for the car."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from enode_scheduler.clock import Clock
from enode_scheduler.config import SchedulerSettings
from enode_scheduler.exceptions import (
    EnodeError,
    EnodeGateClosed,
    EnodeRateLimited,
    EnodeServerError,
    EnodeTransportError,
    LostLeadership,
    StaleEpoch,
)
from enode_scheduler.ports import CommandIntentStore, EnodeApi
from enode_scheduler.records import ChargeAction, CommandIntent
from enode_scheduler.service import decide
from enode_scheduler.service.model import Car, StepReport

log = structlog.get_logger()


class Postpone(Protocol):
    """`Reader.postpone`: no request for these cars until the failure has passed."""

    def __call__(self, cars: list[Car], exc: EnodeError, *, now: datetime) -> None: ...


# Failures that say nothing about the car: they do not count towards the plan's attempts.
_TRANSIENT = (EnodeRateLimited, EnodeGateClosed, EnodeServerError, EnodeTransportError)


class Sender:
    """Sends commands for the reconciler; a refused one is recorded and its car put off."""

    def __init__(
        self,
        enode: EnodeApi,
        intents: CommandIntentStore,
        settings: SchedulerSettings,
        *,
        clock: Clock,
        postpone: Postpone,
        max_concurrent: int,
    ) -> None:
        self._enode = enode
        self._intents = intents
        self._settings = settings
        self._clock = clock
        self._postpone = postpone
        self._limit = asyncio.Semaphore(max_concurrent)

    async def send(
        self,
        sends: list[tuple[Car, ChargeAction]],
        *,
        now: datetime,
        epoch: int,
        report: StepReport,
    ) -> None:
        """Record every intent as sent (one fenced write), then post the commands concurrently."""
        wanted = [
            CommandIntent(
                key=decide.intent_key(
                    car.plan.vehicle_id, action, at=now, attempt=car.failed_attempts
                ),
                vehicle_id=car.plan.vehicle_id,
                user_id=car.plan.user_id,
                action=action,
                reason="window" if action is ChargeAction.START else "outside_window",
                epoch=epoch,
            )
            for car, action in sends
        ]
        try:
            written = await self._intents.record_sends(wanted, epoch=epoch, at=now)
        except StaleEpoch as exc:
            raise LostLeadership(str(exc)) from exc
        by_key = {intent.key: intent for intent in written}
        posts = []
        for (car, action), intent in zip(sends, wanted, strict=True):
            stored = by_key.get(intent.key)
            if stored is None:
                continue  # this decision was recorded before: it is never sent twice
            car.intent = stored
            verify_at = now + timedelta(seconds=self._settings.verify_delay_s)
            if car.next_poll_at is None or car.next_poll_at > verify_at:
                car.next_poll_at = verify_at
            posts.append(self._post(car, action, stored, now=now, report=report))
        failures = [r for r in await asyncio.gather(*posts, return_exceptions=True) if r]
        if failures:
            raise failures[0]

    async def _post(
        self, car: Car, action: ChargeAction, intent: CommandIntent, *, now: datetime,
        report: StepReport,
    ) -> None:  # fmt: skip
        plan = car.plan
        try:
            async with self._limit:
                await self._enode.set_charging(
                    plan.user_id,
                    plan.vehicle_id,
                    action,
                    vendor=car.reading.vendor if car.reading else None,
                )
        except EnodeTransportError:
            # It may have arrived: keep it in flight and let the verification read decide.
            log.warning("command_unknown_outcome", vehicle_id=plan.vehicle_id, key=intent.key)
        except EnodeError as exc:
            await self._failed(car, exc, now=now)
            report.send_failures += 1
            return
        finally:
            if car.intent is intent:
                # Verify from when it went out: in a long step that is well after `now`.
                car.intent = dataclasses.replace(intent, sent_at=self._clock.now())
        if action is ChargeAction.START:
            report.started += 1
        else:
            report.stopped += 1
        log.info(
            "command_sent", vehicle_id=plan.vehicle_id, action=action.value, key=intent.key,
            epoch=intent.epoch, at=now.isoformat(),
        )  # fmt: skip

    async def _failed(self, car: Car, exc: EnodeError, *, now: datetime) -> None:
        assert car.intent is not None
        await self._intents.mark_failed(car.intent.key, error=type(exc).__name__, at=now)
        log.warning("command_failed", vehicle_id=car.plan.vehicle_id, error=type(exc).__name__)
        car.intent = None
        if not isinstance(exc, _TRANSIENT):
            car.failed_attempts += 1
        self._postpone([car], exc, now=now)
