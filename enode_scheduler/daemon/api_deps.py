"""What the HTTP API needs from the rest of the daemon, passed in by whoever builds the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from enode_scheduler.clock import Clock
from enode_scheduler.overrides import OverrideStore
from enode_scheduler.ports import (
    CommandIntentStore,
    PlanStore,
    ScheduleStore,
    UserStore,
    VehicleStore,
)

__all__ = ["ApiDeps", "LinkFlow", "Trigger", "no_trigger"]

Trigger = Callable[[str], Awaitable[None]]


class LinkFlow(Protocol):
    """The Enode link flow as the API uses it. Errors: `LinkError`, other `EnodeError`s."""

    async def start_link(self, user_id: str) -> str:
        """Ask Enode for a link session; return the authorize URL to send the user to."""
        ...

    async def complete_link(
        self,
        *,
        state: str,
        code: str | None,
        error: str | None,
        error_description: str | None,
    ) -> str:
        """Check the one-time `state`, exchange the code, save the tokens; return the user id."""
        ...

    async def unlink(self, user_id: str) -> None:
        """Deauthorize the user at Enode (tokens there are revoked)."""
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
    request_replan: Trigger = no_trigger
    request_reconcile: Trigger = no_trigger
