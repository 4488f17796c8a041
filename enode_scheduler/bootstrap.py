"""`build(settings, clock=...)`: the one place adapters are created, composed in one exit stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from enode_scheduler.clock import Clock
from enode_scheduler.config import Settings
from enode_scheduler.enode import EnodeClient, open_enode_client
from enode_scheduler.planner import Slot, next_deadline, plan
from enode_scheduler.ports import PriceSource
from enode_scheduler.prices.factory import open_price_source
from enode_scheduler.prices.refresh import PriceRefreshJob
from enode_scheduler.prices.tariff import Tariff
from enode_scheduler.prices.zones import get_zone
from enode_scheduler.service import Ports, Reconciler
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


@asynccontextmanager
async def build(settings: Settings, *, clock: Clock) -> AsyncIterator[Deps]:
    """Open the database (schema checked), the Enode client and the price source; close on exit."""
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            open_store(settings.database, state_dir=settings.state_dir, clock=clock)
        )
        enode = await stack.enter_async_context(
            open_enode_client(settings.enode, token_store=store.tokens, clock=clock)
        )
        prices = await stack.enter_async_context(open_price_source(settings.prices))
        zone = get_zone(settings.prices.zone)
        tariff = Tariff.from_settings(settings.prices.tariff, zone_timezone=zone.timezone)
        yield Deps(settings, clock, store, enode, prices, tariff)


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
        outcomes=store.outcomes,
    )
    return Reconciler(
        ports,
        deps.settings.scheduler,
        zone=get_zone(deps.settings.prices.zone).name,
        planner=plan,
        next_deadline=next_deadline,
        price_view=deps.tariff.apply,
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
