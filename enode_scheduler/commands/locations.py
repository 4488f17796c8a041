"""`enode-scheduler locations list|add|remove`: the charging locations where plans act."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from enode_scheduler.commands.context import settings_from_context

if TYPE_CHECKING:
    from enode_scheduler.config import Settings
    from enode_scheduler.records import ChargingLocation
    from enode_scheduler.service.locations import PlanPlaces

app = typer.Typer(
    help="Charging locations: plans act only while the car is at theirs.", no_args_is_help=True
)
T = TypeVar("T")
User = Annotated[str, typer.Option("--user", "-u", help="The user whose locations these are.")]


@asynccontextmanager
async def plan_places(settings: Settings) -> AsyncIterator[PlanPlaces]:
    """The store, and Enode when it is configured, as the location and vehicle checks use them."""
    from enode_scheduler.clock import SystemClock
    from enode_scheduler.service.locations import PlanPlaces
    from enode_scheduler.store import open_store

    clock = SystemClock()
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            open_store(settings.database, state_dir=settings.state_dir, clock=clock)
        )
        enode = None
        if settings.enode.client_id is not None:
            from enode_scheduler.enode import open_enode_client

            enode = await stack.enter_async_context(
                open_enode_client(settings.enode, token_store=store.tokens, clock=clock)
            )
        yield PlanPlaces(
            store.vehicles, store.plans, store.locations, enode, enode, chargers=store.chargers
        )


def run_with_places(ctx: typer.Context, work: Callable[[PlanPlaces], Coroutine[Any, Any, T]]) -> T:
    """Run `work` over the places; bad input exits 2, Enode or database trouble exits 1, each
    with one line."""
    from enode_scheduler.exceptions import EnodeError, InvalidInput, SchemaOutdated, StoreError
    from enode_scheduler.logs import configure_logging

    settings = settings_from_context(ctx)
    # A command's answer is its one line; the info-level chatter (a migration check, each
    # request) would bury it. Warnings and errors still reach stderr.
    quiet = settings.logging.level == "info"
    configure_logging(
        settings.logging.model_copy(update={"level": "warning"}) if quiet else settings.logging
    )

    async def go() -> T:
        async with plan_places(settings) as places:
            return await work(places)

    import asyncio

    try:
        return asyncio.run(go())
    except (InvalidInput, SchemaOutdated) as exc:  # a database not set up is a setup error too
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (EnodeError, StoreError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


def location_json(location: ChargingLocation) -> dict[str, Any]:
    return {
        "location_id": location.location_id,
        "user_id": location.user_id,
        "name": location.name,
        "latitude": location.latitude,
        "longitude": location.longitude,
    }


@app.command("list")
def list_command(
    ctx: typer.Context,
    user: User,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show the user's charging locations (from Enode when configured, else the stored copy)."""
    from enode_scheduler.service.locations import list_locations

    found = run_with_places(ctx, lambda places: list_locations(places, user))
    if as_json:
        typer.echo(json.dumps([location_json(loc) for loc in found], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "name", "latitude", "longitude")
    for loc in found:
        table.add_row(loc.location_id, loc.name or "-", _num(loc.latitude), _num(loc.longitude))
    Console().print(table)


@app.command("add")
def add_command(
    ctx: typer.Context,
    user: User,
    name: Annotated[str, typer.Option(help="A name for the place, e.g. Home.")],
    from_vehicle: Annotated[
        str | None, typer.Option("--from-vehicle", help="Put it where this car is now.")
    ] = None,
    lat: Annotated[float | None, typer.Option(help="Latitude, degrees.")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude, degrees.")] = None,
) -> None:
    """Create a charging location at Enode (at a car's position, or at --lat/--lon)."""
    from enode_scheduler.service.locations import add_location

    if (from_vehicle is None) == (lat is None and lon is None):
        typer.echo("error: give exactly one of --from-vehicle or --lat/--lon", err=True)
        raise typer.Exit(2)
    if from_vehicle is None and (lat is None or lon is None):
        typer.echo("error: give both --lat and --lon", err=True)
        raise typer.Exit(2)
    made, adopted = run_with_places(
        ctx,
        lambda places: add_location(
            places, user, name=name, latitude=lat, longitude=lon, from_vehicle=from_vehicle
        ),
    )
    typer.echo(f"location {made.name} added: {made.location_id}")
    if adopted:
        typer.echo(f"plans of {', '.join(adopted)} now apply at {made.name}")


@app.command("remove")
def remove_command(
    ctx: typer.Context,
    location: Annotated[str, typer.Argument(help="The location's id or name.")],
    user: User,
) -> None:
    """Delete a charging location at Enode; plans that named it stop controlling their car."""
    from enode_scheduler.service.locations import remove_location

    gone, orphaned = run_with_places(ctx, lambda places: remove_location(places, user, location))
    typer.echo(f"location {gone.name} removed: {gone.location_id}")
    if orphaned:
        typer.echo(
            f"plans of {', '.join(orphaned)} have no location now: those cars are not "
            "controlled until `plans add ... --location` names another"
        )


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
