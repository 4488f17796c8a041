"""Sending a step's start/stop commands: recorded as sent in one fenced write, then posted
concurrently, each stamped with when it went out so that its verification waits for the car."""

from __future__ import annotations

import asyncio
import contextlib
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
    StoreError,
    TokenDecryptError,
)
from enode_scheduler.ports import CommandIntentStore, EnodeApi
from enode_scheduler.records import ChargeAction, CommandIntent
from enode_scheduler.service import decide
from enode_scheduler.service.model import Car, EpochOf, StepReport

log = structlog.get_logger()


class Postpone(Protocol):
    """`Reader.postpone`: no request for these cars until the failure has passed."""

    def __call__(self, cars: list[Car], exc: EnodeError, *, now: datetime) -> None: ...


class Fault(Protocol):
    """`Reader.fault`: the cars' own failure; status `error` and a slow retry."""

    def __call__(self, cars: list[Car], reason: str, *, now: datetime) -> None: ...


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
        fault: Fault,
        max_concurrent: int,
    ) -> None:
        self._enode = enode
        self._intents = intents
        self._settings = settings
        self._clock = clock
        self._postpone = postpone
        self._fault = fault
        self._limit = asyncio.Semaphore(max_concurrent)

    async def send(
        self,
        sends: list[tuple[Car, ChargeAction]],
        *,
        now: datetime,
        epochs: EpochOf,
        report: StepReport,
    ) -> None:
        """Record every intent as sent (one write, fenced by each car's shard epoch), then post
        the commands concurrently. A car whose shard has no epoch (any more) sends nothing."""
        sends = [(car, action) for car, action in sends if epochs(car.shard) is not None]
        wanted = [
            CommandIntent(
                key=decide.intent_key(
                    car.plan.vehicle_id, action, at=now, attempt=car.failed_attempts
                ),
                vehicle_id=car.plan.vehicle_id,
                user_id=car.plan.user_id,
                action=action,
                reason="window" if action is ChargeAction.START else "outside_window",
                epoch=epochs(car.shard) or 0,
                shard=car.shard,
            )
            for car, action in sends
        ]
        if not wanted:
            return
        try:
            written = await self._intents.record_sends(wanted, at=now)
        except StaleEpoch as exc:
            raise LostLeadership(str(exc), shards=exc.shards) from exc
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
        # Losing a lease outranks any other failure: the daemon must stop sending first.
        lost = [exc for exc in failures if isinstance(exc, LostLeadership)]
        if lost:
            every = any(not exc.shards for exc in lost)
            shards = () if every else tuple(sorted({s for exc in lost for s in exc.shards}))
            raise LostLeadership(str(lost[0]), shards=shards) from lost[0]
        if failures:
            raise failures[0]

    async def _post(
        self, car: Car, action: ChargeAction, intent: CommandIntent, *, now: datetime,
        report: StepReport,
    ) -> None:  # fmt: skip
        plan = car.plan
        try:
            async with self._limit:
                if plan.charger_id is not None:
                    # The plan acts through a charger: the command goes to the wallbox.
                    await self._enode.set_charger_charging(
                        plan.user_id,
                        plan.charger_id,
                        action,
                        vendor=car.charger.vendor if car.charger else None,
                    )
                else:
                    await self._enode.set_charging(
                        plan.user_id,
                        plan.vehicle_id,
                        action,
                        vendor=car.reading.vendor if car.reading else None,
                    )
        except EnodeTransportError:
            # It may have arrived: keep it in flight and let the verification read decide.
            log.warning("command_unknown_outcome", vehicle_id=plan.vehicle_id, key=intent.key)
        except LostLeadership:
            await self._dropped(car, intent, now=now)
            raise
        except EnodeError as exc:
            await self._failed(car, exc, now=now)
            report.send_failures += 1
            return
        except TokenDecryptError:
            await self._faulted(car, "token_undecryptable", now=now)
            report.send_failures += 1
            return
        except StoreError:
            raise
        except Exception as exc:  # this car's unexpected failure must not stop the others
            await self._faulted(car, f"{type(exc).__name__}: {exc}"[:200], now=now)
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
        if plan.charger_id is not None:
            report.charger_commands += 1
        log.info(
            "command_sent", vehicle_id=plan.vehicle_id, action=action.value, key=intent.key,
            epoch=intent.epoch, at=now.isoformat(), charger_id=plan.charger_id,
        )  # fmt: skip

    async def _dropped(self, car: Car, intent: CommandIntent, *, now: datetime) -> None:
        """The shard's lease may have expired before the post: nothing went out; whoever owns
        the shard decides.

        Marking the intent failed lets the next owner decide at once instead of waiting to
        verify a command that never left; if the database refuses, it verifies and finds it
        unconfirmed, which also ends in a fresh decision.
        """
        car.intent = None
        log.warning(
            "command_dropped", vehicle_id=car.plan.vehicle_id, key=intent.key, reason="lease"
        )
        with contextlib.suppress(StoreError):
            await self._intents.mark_failed(intent.key, error="lease_expired", at=now)

    async def _faulted(self, car: Car, reason: str, *, now: datetime) -> None:
        """Nothing known to have gone out: recorded as failed; the car waits its slow retry."""
        assert car.intent is not None
        await self._intents.mark_failed(car.intent.key, error=reason[:64], at=now)
        car.intent = None
        self._fault([car], reason, now=now)

    async def _failed(self, car: Car, exc: EnodeError, *, now: datetime) -> None:
        assert car.intent is not None
        await self._intents.mark_failed(car.intent.key, error=type(exc).__name__, at=now)
        log.warning("command_failed", vehicle_id=car.plan.vehicle_id, error=type(exc).__name__)
        car.intent = None
        if not isinstance(exc, _TRANSIENT):
            car.failed_attempts += 1
        self._postpone([car], exc, now=now)
