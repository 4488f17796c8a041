"""The HTTP API over the daemon's built adapters, with health and metrics over the daemon's state.

`Daemon._start_health` serves `api_for(...)`; its triggers (`Daemon.request_replan`,
`Daemon.request_reconcile`, relayed by `daemon.wakeups` to every replica on PostgreSQL) wake the
reconcile loop of the replica that runs the car.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from enode_scheduler.api.app import create_api
from enode_scheduler.api.deps import ApiDeps, SocHistory, Trigger, WebSources, no_history
from enode_scheduler.api.routes.health import MetricsFn, ReadyFn, health_routers
from enode_scheduler.bootstrap import Deps
from enode_scheduler.prices.co2.factory import intensity_zone
from enode_scheduler.records import CarHealth
from enode_scheduler.zones import get_zone

__all__ = ["api_for"]


def api_for(
    deps: Deps,
    *,
    ready: ReadyFn,
    metrics: MetricsFn,
    request_replan: Trigger,
    request_reconcile: Trigger,
    health: Callable[[], list[CarHealth]] | None = None,
    soc_history: SocHistory = no_history,
) -> FastAPI:
    """The full API app: plans, link, schedules, webhooks, plus /healthz, /readyz and /metrics
    answered from `ready` and `metrics`."""
    store = deps.store
    zone = get_zone(deps.settings.prices.zone)
    scheduler = deps.settings.scheduler
    web = WebSources(
        prices=store.prices,
        zone=zone.name,
        zone_timezone=zone.timezone,
        price_view=deps.tariff.apply,
        soc_history=soc_history,
        paused_vendors=lambda: deps.enode.gates.paused_vendors,
        default_capacity_kwh=scheduler.default_capacity_kwh,
        default_efficiency=scheduler.default_efficiency,
        unknown_location=scheduler.unknown_location,
        intensity=store.intensity if deps.intensity is not None else None,
        intensity_zone=intensity_zone(deps.settings.co2, price_zone=zone.name)
        if deps.intensity is not None
        else None,
    )
    api_deps = ApiDeps(
        users=store.users,
        vehicles=store.vehicles,
        plans=store.plans,
        schedules=store.schedules,
        intents=store.intents,
        overrides=store.overrides,
        sites=store.sites,
        clock=deps.clock,
        link=deps.enode,
        enode=deps.enode,
        request_replan=request_replan,
        request_reconcile=request_reconcile,
        health=health,
        chargers=store.chargers,
        outcomes=store.outcomes,
        currency=deps.settings.prices.currency,
        locations=store.locations,
        enode_locations=deps.enode,
        web=web,
    )
    secret = deps.settings.enode.webhook_secret
    public, guarded = health_routers(ready=ready, metrics=metrics)
    return create_api(
        api_deps,
        deps.settings.api,
        webhook_secret=secret.get_secret_value() if secret else None,
        public_routers=[public],
        metrics_router=guarded,
    )
