"""What the HTTP API needs from the rest of the daemon, passed in by whoever builds the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from enode_scheduler.clock import Clock
from enode_scheduler.planner.models import Slot
from enode_scheduler.ports import (
    ChargerStore,
    CommandIntentStore,
    EnodeApi,
    EnodeLocations,
    IntensitySlotStore,
    LocationStore,
    OutcomeStore,
    OverrideStore,
    PlanStore,
    PriceSlotStore,
    ScheduleStore,
    SiteStore,
    UserStore,
    VehicleStore,
)
from enode_scheduler.records import CarHealth
from enode_scheduler.service.decide import UnknownLocation

__all__ = ["ApiDeps", "LinkFlow", "LinkStart", "PriceView", "Trigger", "WebSources", "no_trigger"]

Trigger = Callable[[str], Awaitable[None]]
PriceView = Callable[[list[Slot]], list[Slot]]
# (when, SoC %) readings of one vehicle, oldest first, as the daemon saw them.
SocHistory = Callable[[str], Sequence[tuple[datetime, float]]]


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


def no_history(vehicle_id: str) -> Sequence[tuple[datetime, float]]:
    """No SoC history kept (an API without a daemon)."""
    return ()


@dataclass(frozen=True, slots=True)
class WebSources:
    """What only the operator's web page reads: prices (and carbon intensity) for the charts, and
    recent SoC readings.

    `price_view` applies the tariff, as the reconciler does; `zone` is the configured bidding zone.
    """

    prices: PriceSlotStore
    zone: str
    zone_timezone: str = "UTC"
    price_view: PriceView = list
    soc_history: SocHistory = no_history
    # Vendors Enode reports in an outage (their cars show `outage`).
    paused_vendors: Callable[[], frozenset[str]] = frozenset
    # Used to draw the expected SoC curve when a reading does not say.
    default_capacity_kwh: float = 60.0
    default_efficiency: float = 0.9
    # Stored carbon intensity and its region, when a `[co2]` source is configured; None: the
    # page says nothing about CO2.
    intensity: IntensitySlotStore | None = None
    intensity_zone: str | None = None
    # `[scheduler] unknown_location`: "act" controls a car whose position is unknown.
    unknown_location: UnknownLocation = "skip"


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
    sites: SiteStore
    clock: Clock
    link: LinkFlow | None = None
    # Reads a newly linked user's vehicles at once, so plans can be set without waiting for a poll.
    enode: EnodeApi | None = None
    request_replan: Trigger = no_trigger
    request_reconcile: Trigger = no_trigger
    # The daemon's per-car statuses (`Reconciler.health`); None: no daemon, no statuses.
    health: Callable[[], list[CarHealth]] | None = None
    # Chargers (wallboxes) and charger-only plans; None: the API shows no chargers.
    chargers: ChargerStore | None = None
    # How each plan's latest deadline went; None: not shown.
    outcomes: OutcomeStore | None = None
    currency: str = "EUR"
    # Users' charging locations (our copy); None: plans are stored without one.
    locations: LocationStore | None = None
    # Creates and deletes locations at Enode; None when Enode is not set up.
    enode_locations: EnodeLocations | None = None
    # None: the web page shows no prices (an API without a price store).
    web: WebSources | None = None
