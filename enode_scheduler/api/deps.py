"""What the HTTP API needs from the rest of the daemon, passed in by whoever builds the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from enode_scheduler.clock import Clock
from enode_scheduler.ports import (
    CommandIntentStore,
    EnodeApi,
    OutcomeStore,
    OverrideStore,
    PlanStore,
    ScheduleStore,
    UserStore,
    VehicleStore,
)

__all__ = ["ApiDeps", "LinkFlow", "LinkStart", "Trigger", "no_trigger"]

Trigger = Callable[[str], Awaitable[None]]


class LinkStart(Protocol):
    @property
    def authorize_url(self) -> str: ...


class LinkFlow(Protocol):
    """The Enode link flow as the API uses it (`EnodeClient` fits). Errors: `EnodeError`s."""

    async def start_link(self, user_id: str) -> LinkStart:
        """Ask Enode for a link state bound to the user; the result carries the authorize URL."""
        ...

    async def complete_link(self, params: Mapping[str, str], *, user_id: str | None = None) -> str:
        """Check the callback's one-time `state` (for `user_id` when given), handle `error`,
        exchange the code and save the tokens; return the linked user id. LinkError on failure."""
        ...

    async def deauthorize_user(self, user_id: str) -> None:
        """Revoke the user's vendor credentials and tokens at Enode."""
        ...


async def no_trigger(vehicle_id: str) -> None:
    """A replan/reconcile trigger that does nothing (tests, or an API without a daemon)."""


@dataclass(frozen=True, slots=True)
class ApiDeps:
    """The ports and callbacks the API works through; `link` is None when Enode is not set up.

    `request_replan` and `request_reconcile` must return quickly: they ask the daemon to act
    soon, they do not do the work inside the HTTP request.
    """

    users: UserStore
    vehicles: VehicleStore
    plans: PlanStore
    schedules: ScheduleStore
    intents: CommandIntentStore
    overrides: OverrideStore
    clock: Clock
    link: LinkFlow | None = None
    # Reads a newly linked user's vehicles at once, so plans can be set without waiting for a poll.
    enode: EnodeApi | None = None
    request_replan: Trigger = no_trigger
    request_reconcile: Trigger = no_trigger
    # How each plan's latest deadline went; None: not shown.
    outcomes: OutcomeStore | None = None
    currency: str = "EUR"
