"""`open_store`: the engine, the schema check and every repository, as one context manager."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from enode_scheduler.clock import Clock, SystemClock
from enode_scheduler.config import DatabaseSettings
from enode_scheduler.store.chargers import SqlChargerStore
from enode_scheduler.store.crypto import TokenCipher, cipher_from_settings
from enode_scheduler.store.engine import create_engine
from enode_scheduler.store.gates import SqlGateStore
from enode_scheduler.store.intents import SqlCommandIntentStore
from enode_scheduler.store.keycheck import SqlKeyCheck
from enode_scheduler.store.link_states import SqlLinkStateStore
from enode_scheduler.store.locations import SqlLocationStore
from enode_scheduler.store.migrate import check_schema
from enode_scheduler.store.outbox import SqlOutboxStore
from enode_scheduler.store.outcomes import SqlOutcomeStore
from enode_scheduler.store.overrides import SqlOverrideStore
from enode_scheduler.store.plans import SqlPlanStore
from enode_scheduler.store.prices import SqlIntensitySlotStore, SqlPriceSlotStore
from enode_scheduler.store.schedules import SqlScheduleStore
from enode_scheduler.store.shards import SqlShardStore
from enode_scheduler.store.sites import SqlSiteStore
from enode_scheduler.store.users import SqlUserStore
from enode_scheduler.store.vehicles import SqlVehicleStore

if TYPE_CHECKING:
    from enode_scheduler.ports import (
        ChargerStore,
        CommandIntentStore,
        GateStore,
        IntensitySlotStore,
        LinkStateStore,
        LocationStore,
        OutboxStore,
        OutcomeStore,
        OverrideStore,
        PlanStore,
        PriceSlotStore,
        ScheduleStore,
        ShardStore,
        SiteStore,
        TokenStore,
        UserStore,
        VehicleStore,
    )


@dataclass(frozen=True, slots=True)
class Store:
    """Every repository over one engine. `users` and `tokens` are the same object."""

    engine: AsyncEngine
    users: SqlUserStore
    tokens: SqlUserStore
    vehicles: SqlVehicleStore
    plans: SqlPlanStore
    schedules: SqlScheduleStore
    prices: SqlPriceSlotStore
    intents: SqlCommandIntentStore
    overrides: SqlOverrideStore
    gates: SqlGateStore
    key_check: SqlKeyCheck
    link_states: SqlLinkStateStore
    cipher: TokenCipher
    chargers: SqlChargerStore
    intensity: SqlIntensitySlotStore
    locations: SqlLocationStore
    sites: SqlSiteStore
    outbox: SqlOutboxStore
    outcomes: SqlOutcomeStore
    shards: SqlShardStore

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.engine.dialect.name


@asynccontextmanager
async def open_store(
    settings: DatabaseSettings,
    *,
    state_dir: Path,
    clock: Clock | None = None,
) -> AsyncIterator[Store]:
    """Open the database, check (or with `auto_migrate`, upgrade) its schema, yield the store.

    Raises SchemaOutdated when the schema is behind and `auto_migrate` is off. `clock` stamps the
    rows we write (created_at, updated_at); leases use database time instead.
    """
    engine = create_engine(settings, state_dir=state_dir)
    try:
        await check_schema(engine, auto_migrate=settings.auto_migrate)
        yield build_store(
            engine,
            settings=settings,
            state_dir=state_dir,
            clock=clock or SystemClock(),
        )
    finally:
        await engine.dispose()


def build_store(
    engine: AsyncEngine,
    *,
    settings: DatabaseSettings,
    state_dir: Path,
    clock: Clock,
) -> Store:
    """The repositories over an engine whose schema is already checked."""
    keys = [key.get_secret_value() for key in settings.token_keys]
    cipher = cipher_from_settings(keys, state_dir=state_dir)
    users = SqlUserStore(engine, clock=clock, cipher=cipher)
    return Store(
        engine=engine,
        users=users,
        tokens=users,
        vehicles=SqlVehicleStore(engine, clock=clock),
        plans=SqlPlanStore(engine, clock=clock),
        schedules=SqlScheduleStore(engine, clock=clock),
        prices=SqlPriceSlotStore(engine, clock=clock),
        intents=SqlCommandIntentStore(engine, clock=clock),
        overrides=SqlOverrideStore(engine, clock=clock),
        gates=SqlGateStore(engine, clock=clock),
        key_check=SqlKeyCheck(engine, clock=clock),
        link_states=SqlLinkStateStore(engine, clock=clock),
        cipher=cipher,
        chargers=SqlChargerStore(engine, clock=clock),
        intensity=SqlIntensitySlotStore(engine, clock=clock),
        locations=SqlLocationStore(engine, clock=clock),
        sites=SqlSiteStore(engine, clock=clock),
        outbox=SqlOutboxStore(engine, clock=clock),
        outcomes=SqlOutcomeStore(engine, clock=clock),
        shards=SqlShardStore(engine, clock=clock),
    )


if TYPE_CHECKING:
    # mypy proves the repositories implement the ports exactly.
    def _implements_ports(store: Store) -> None:
        _users: UserStore = store.users
        _tokens: TokenStore = store.tokens
        _vehicles: VehicleStore = store.vehicles
        _plans: PlanStore = store.plans
        _schedules: ScheduleStore = store.schedules
        _prices: PriceSlotStore = store.prices
        _intents: CommandIntentStore = store.intents
        _overrides: OverrideStore = store.overrides
        _gates: GateStore = store.gates
        _link_states: LinkStateStore = store.link_states
        _chargers: ChargerStore = store.chargers
        _intensity: IntensitySlotStore = store.intensity
        _locations: LocationStore = store.locations
        _sites: SiteStore = store.sites
        _outbox: OutboxStore = store.outbox
        _outcomes: OutcomeStore = store.outcomes
        _shards: ShardStore = store.shards
