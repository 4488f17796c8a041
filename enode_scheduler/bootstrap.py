"""`build(settings, clock=...)`: the one place adapters are created, composed in one exit stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx

from enode_scheduler.clock import Clock
from enode_scheduler.config import Settings
from enode_scheduler.enode import EnodeClient, open_enode_client
from enode_scheduler.exceptions import ConfigError
from enode_scheduler.notify.dispatch import Notifications
from enode_scheduler.notify.targets import Target, build_targets
from enode_scheduler.planner import Slot, next_deadline, plan
from enode_scheduler.planner.site import plan_site
from enode_scheduler.ports import IntensitySource, PriceSource
from enode_scheduler.prices.co2.factory import intensity_zone, open_intensity_source
from enode_scheduler.prices.co2.refresh import IntensityRefreshJob
from enode_scheduler.prices.factory import open_price_source
from enode_scheduler.prices.refresh import PriceRefreshJob
from enode_scheduler.prices.tariff import Tariff
from enode_scheduler.prices.zones import get_zone
from enode_scheduler.service import Co2Objective, Ports, Reconciler
from enode_scheduler.store import Store, open_store


@dataclass(frozen=True, slots=True)
class Deps:
    """Every long-lived adapter the daemon and the CLI use, open for the life of `build()`."""

    settings: Settings
    clock: Clock
    store: Store
    enode: EnodeClient
    prices: PriceSource
    tariff: Tariff
    # None when `[co2] source = "none"`
    intensity: IntensitySource | None = None
    # `[[notify]]` targets over the store's outbox; none configured: nothing is detected.
    notifications: Notifications | None = None


@asynccontextmanager
async def build(settings: Settings, *, clock: Clock) -> AsyncIterator[Deps]:
    """Open the database (schema checked), the Enode client, the price and intensity sources;
    close them on exit."""
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            open_store(settings.database, state_dir=settings.state_dir, clock=clock)
        )
        enode = await stack.enter_async_context(
            open_enode_client(
                settings.enode,
                token_store=store.tokens,
                clock=clock,
                link_states=store.link_states,
            )
        )
        prices = await stack.enter_async_context(open_price_source(settings.prices))
        zone = get_zone(settings.prices.zone)
        tariff = Tariff.from_settings(settings.prices.tariff, zone_timezone=zone.timezone)
        intensity = await stack.enter_async_context(
            open_intensity_source(settings.co2, price_zone=zone.name)
        )
        notifications = None
        if settings.notify:
            http = await stack.enter_async_context(httpx.AsyncClient())
            targets = notify_targets(settings, http=http)
            notifications = Notifications(store.outbox, targets, settings.notify)
        yield Deps(settings, clock, store, enode, prices, tariff, intensity, notifications)


def notify_targets(settings: Settings, *, http: httpx.AsyncClient) -> dict[str, Target]:
    """The `[[notify]]` targets; a URL Apprise cannot use is a config error naming the entry."""
    try:
        return build_targets(settings.notify, http=http)
    except ValueError as exc:
        raise ConfigError([str(exc)]) from exc


def make_reconciler(deps: Deps) -> Reconciler:
    """The reconciler over the built adapters."""
    store = deps.store
    ports = Ports(
        enode=deps.enode,
        vehicles=store.vehicles,
        plans=store.plans,
        schedules=store.schedules,
        intents=store.intents,
        price_slots=store.prices,
        overrides=store.overrides,
        chargers=store.chargers,
        outcomes=store.outcomes,
        intensity=store.intensity if deps.intensity is not None else None,
        sites=store.sites,
    )
    return Reconciler(
        ports,
        deps.settings.scheduler,
        zone=get_zone(deps.settings.prices.zone).name,
        planner=plan,
        next_deadline=next_deadline,
        price_view=deps.tariff.apply,
        co2=_co2_objective(deps),
        site_planner=plan_site,
        max_concurrent_reads=deps.settings.scheduler.max_concurrent_reads,
        max_concurrent_commands=deps.settings.scheduler.max_concurrent_commands,
        clock=deps.clock,
    )


def make_price_job(deps: Deps, reconciler: Reconciler) -> PriceRefreshJob:
    """The price refresh job, telling the reconciler when new slots arrive."""

    async def on_new_slots(zone: str, slots: list[Slot]) -> None:
        reconciler.prices_changed(at=deps.clock.now())

    return PriceRefreshJob.from_settings(
        deps.settings.prices,
        source=deps.prices,
        store=deps.store.prices,
        clock=deps.clock,
        on_new_slots=on_new_slots,
    )


def _co2_objective(deps: Deps) -> Co2Objective | None:
    co2 = deps.settings.co2
    if deps.intensity is None:
        return None
    zone = intensity_zone(co2, price_zone=get_zone(deps.settings.prices.zone).name)
    return Co2Objective(zone, price_per_kg=co2.price_per_kg, minimise=co2.mode == "co2")


def make_co2_job(deps: Deps, reconciler: Reconciler) -> IntensityRefreshJob | None:
    """The intensity refresh job (None without a CO2 source); new intensity replans like prices."""
    if deps.intensity is None:
        return None

    async def on_new(zone: str) -> None:
        reconciler.prices_changed(at=deps.clock.now())

    co2 = deps.settings.co2
    return IntensityRefreshJob(
        zone=intensity_zone(co2, price_zone=get_zone(deps.settings.prices.zone).name),
        source=deps.intensity,
        store=deps.store.intensity,
        interval_s=co2.refresh_interval_s,
        horizon_h=co2.horizon_h,
        on_new=on_new,
    )
