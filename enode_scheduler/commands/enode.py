"""`enode-scheduler link | vehicles | chargers | charge start|stop`: Enode from the command line."""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO, TypeVar

import typer

from enode_scheduler.commands.context import settings_from_context
from enode_scheduler.exceptions import (
    ConfigError,
    EnodeError,
    InvalidInput,
    StoreError,
)

# The Enode client (httpx), the store (SQLAlchemy) and rich load inside the commands, so that
# `--help` and the other commands do not pay for them.
if TYPE_CHECKING:
    from rich.table import Table

    from enode_scheduler.clock import Clock
    from enode_scheduler.config import Settings
    from enode_scheduler.enode import EnodeClient
    from enode_scheduler.records import ChargeAction, ChargerReading, VehicleReading
    from enode_scheduler.store import Store

charge_app = typer.Typer(
    help="Start or stop charging a vehicle (or a charger) now.", no_args_is_help=True
)
T = TypeVar("T")


@asynccontextmanager
async def _session(settings: Settings, clock: Clock) -> AsyncIterator[tuple[Store, EnodeClient]]:
    from enode_scheduler.enode import open_enode_client
    from enode_scheduler.store import open_store

    async with (
        open_store(settings.database, state_dir=settings.state_dir, clock=clock) as store,
        open_enode_client(settings.enode, token_store=store.tokens, clock=clock) as client,
    ):
        yield store, client


def _settings(ctx: typer.Context) -> Settings:
    from enode_scheduler.logs import configure_logging

    settings = settings_from_context(ctx)
    # Loaded before logging is set up, as when the CLI imported everything at start: alembic
    # logs its plugin set-up at INFO on first import, which is not the command's output.
    importlib.import_module("enode_scheduler.store")
    # stdout carries the command's output (the URL, the table); logs go to stderr.
    configure_logging(settings.logging)
    return settings


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run the command's coroutine; the error tree becomes one line and an exit code."""
    import asyncio

    try:
        return asyncio.run(work)
    except (ConfigError, InvalidInput) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except (EnodeError, StoreError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


# -- link --------------------------------------------------------------------------------------


async def link_user(
    settings: Settings, user_id: str, *, clock: Clock, out: TextIO, timeout_s: float
) -> str:
    """Print the authorize URL, wait for the browser's callback, store the user's tokens."""
    from enode_scheduler.enode.callback import wait_for_callback

    async with _session(settings, clock) as (_, client):
        session = await client.start_link(user_id)

        def announce() -> None:
            out.write(session.authorize_url + "\n")
            out.flush()

        return await wait_for_callback(
            str(settings.enode.redirect_uri),
            handle=lambda params: client.complete_link(params, user_id=user_id),
            clock=clock,
            timeout_s=timeout_s,
            on_listening=announce,
        )


def link(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="Our id for the user (also given to Enode).")],
    timeout_s: Annotated[
        float | None,
        typer.Option(
            "--timeout-s",
            min=1,
            help="Give up after this many seconds (default: link_state_ttl_s).",
        ),
    ] = None,
) -> None:
    """Link a user's car account: open the printed URL, log in; exits 0 once linked."""
    from enode_scheduler.clock import SystemClock
    from enode_scheduler.enode.callback import listen_address

    settings = _settings(ctx)
    try:
        listen_address(str(settings.enode.redirect_uri))
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    wait_s = timeout_s or settings.enode.link_state_ttl_s
    typer.echo(f"open this URL to link {user_id}; waiting up to {wait_s:g} s:", err=True)
    linked = _run(
        link_user(settings, user_id, clock=SystemClock(), out=sys.stdout, timeout_s=wait_s)
    )
    typer.echo(f"linked {linked}; tokens stored", err=True)


# -- vehicles ----------------------------------------------------------------------------------


async def read_vehicles(
    settings: Settings, user_ids: Sequence[str], *, clock: Clock
) -> tuple[list[VehicleReading], list[str]]:
    """Live readings for the users (all linked users when none are named), and one line per
    user that failed."""
    readings: list[VehicleReading] = []
    failures: list[str] = []
    async with _session(settings, clock) as (store, client):
        if not user_ids:
            user_ids = [u.user_id for u in await store.users.list_users() if u.linked]
        for user_id in user_ids:
            try:
                readings.extend(await client.list_vehicles(user_id))
            except EnodeError as exc:
                failures.append(f"{user_id}: {exc}")
    return readings, failures


def vehicles(
    ctx: typer.Context,
    user: Annotated[
        list[str] | None, typer.Option("--user", "-u", help="Only this user (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead.")] = False,
) -> None:
    """Show the live state of every linked vehicle (or of one user's)."""
    from rich.console import Console

    from enode_scheduler.clock import SystemClock

    settings = _settings(ctx)
    readings, failures = _run(read_vehicles(settings, user or [], clock=SystemClock()))
    if as_json:
        typer.echo(json.dumps([_jsonable(r) for r in readings], indent=2))
    else:
        Console().print(_table(readings))
    for line in failures:
        typer.echo(f"error: {line}", err=True)
    if failures:
        raise typer.Exit(1)


def _jsonable(reading: VehicleReading | ChargerReading) -> dict[str, Any]:
    data = dataclasses.asdict(reading)
    for key, value in data.items():
        if isinstance(value, datetime):
            data[key] = value.isoformat()
        elif isinstance(value, tuple):
            data[key] = list(value)
    return data


def _table(readings: Sequence[VehicleReading]) -> Table:
    from rich.table import Table

    table = Table(
        "user",
        "vehicle",
        "vendor",
        "SoC %",
        "plugged",
        "charging",
        "kW",
        "limit %",
        "smart",
        "last seen (UTC)",
    )
    for r in readings:
        table.add_row(
            r.user_id,
            r.vehicle_id,
            r.vendor or "?",
            _show(r.soc_percent),
            _show(r.is_plugged_in),
            _show(r.is_charging),
            _show(r.charge_rate_kw),
            _show(r.charge_limit_percent),
            _show(r.smart_charging_enabled),
            r.last_seen.strftime("%Y-%m-%d %H:%M") if r.last_seen else "-",
        )
    return table


def _show(value: float | bool | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}"


# -- chargers ----------------------------------------------------------------------------------


async def read_chargers(
    settings: Settings, user_ids: Sequence[str], *, clock: Clock
) -> tuple[list[ChargerReading], list[str]]:
    """Live readings of the users' chargers (all linked users when none are named), and one
    line per user that failed."""
    readings: list[ChargerReading] = []
    failures: list[str] = []
    async with _session(settings, clock) as (store, client):
        if not user_ids:
            user_ids = [u.user_id for u in await store.users.list_users() if u.linked]
        for user_id in user_ids:
            try:
                readings.extend(await client.list_chargers(user_id))
            except EnodeError as exc:
                failures.append(f"{user_id}: {exc}")
    return readings, failures


def chargers(
    ctx: typer.Context,
    user: Annotated[
        list[str] | None, typer.Option("--user", "-u", help="Only this user (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead.")] = False,
) -> None:
    """Show the live state of every linked charger (wallbox), or of one user's."""
    from rich.console import Console

    from enode_scheduler.clock import SystemClock

    settings = _settings(ctx)
    readings, failures = _run(read_chargers(settings, user or [], clock=SystemClock()))
    if as_json:
        typer.echo(json.dumps([_charger_jsonable(r) for r in readings], indent=2))
    else:
        Console().print(_charger_table(readings))
    for line in failures:
        typer.echo(f"error: {line}", err=True)
    if failures:
        raise typer.Exit(1)


def _charger_jsonable(reading: ChargerReading) -> dict[str, Any]:
    data = _jsonable(reading)
    data.pop("energy_kwh")  # the daemon's meter, not part of a live reading
    return data


def _charger_table(readings: Sequence[ChargerReading]) -> Table:
    from rich.table import Table

    table = Table("user", "charger", "brand", "plugged", "charging", "kW", "last seen (UTC)")
    for r in readings:
        table.add_row(
            r.user_id,
            r.charger_id,
            " ".join(x for x in (r.brand, r.model) if x) or r.vendor or "?",
            _show(r.is_plugged_in),
            _show(r.is_charging),
            _show(r.charge_rate_kw),
            r.last_seen.strftime("%Y-%m-%d %H:%M") if r.last_seen else "-",
        )
    return table


# -- charge start|stop -------------------------------------------------------------------------


async def send_charge(
    settings: Settings,
    user_id: str,
    vehicle_id: str | None,
    action: ChargeAction,
    *,
    clock: Clock,
    charger_id: str | None = None,
) -> None:
    """Send one START or STOP to the vehicle or the charger (never retried; re-read to check)."""
    async with _session(settings, clock) as (_, client):
        if charger_id is not None:
            await client.set_charger_charging(user_id, charger_id, action)
        else:
            assert vehicle_id is not None
            await client.set_charging(user_id, vehicle_id, action)


def _charge_command(action: Literal["START", "STOP"]) -> Callable[..., None]:
    # The action is named by its value: the records module (and the planner it pulls in) loads
    # only when a command is sent.
    def command(
        ctx: typer.Context,
        user: Annotated[str, typer.Option("--user", "-u", help="The vehicle's user.")],
        vehicle_id: Annotated[
            str | None, typer.Argument(help="Enode vehicle id (or give --charger).")
        ] = None,
        charger: Annotated[
            str | None, typer.Option("--charger", help="Send it to this charger instead.")
        ] = None,
    ) -> None:
        if (vehicle_id is None) == (charger is None):
            typer.echo("error: give exactly one of VEHICLE_ID or --charger ID", err=True)
            raise typer.Exit(2)
        from enode_scheduler.clock import SystemClock
        from enode_scheduler.records import ChargeAction

        settings = _settings(ctx)
        _run(
            send_charge(
                settings,
                user,
                vehicle_id,
                ChargeAction(action),
                clock=SystemClock(),
                charger_id=charger,
            )
        )
        target = f"charger {charger}" if charger else vehicle_id
        typer.echo(f"{action} sent to {target}; it acts after its vendor's delay")

    command.__doc__ = (
        f"Send {action} to a vehicle or a charger once (not retried; re-read to verify)."
    )
    return command


charge_app.command("start")(_charge_command("START"))
charge_app.command("stop")(_charge_command("STOP"))
