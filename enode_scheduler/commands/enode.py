"""`enode-scheduler link | vehicles | chargers | charge start|stop`: Enode from the command line."""

from __future__ import annotations

import dataclasses
import importlib
import json
import socket
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO, TypeVar

import typer

from enode_scheduler.commands.context import (
    clock_for,
    id_column,
    settings_from_context,
    table_console,
)
from enode_scheduler.exceptions import (
    ConfigError,
    EnodeError,
    InvalidInput,
    SchemaOutdated,
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
    except (ConfigError, InvalidInput, SchemaOutdated) as exc:
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
    from enode_scheduler.enode.callback import listen_address

    settings = _settings(ctx)
    try:
        host, port, _ = listen_address(str(settings.enode.redirect_uri))
    except InvalidInput as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    busy = _port_in_use(host, port, user_id)
    if busy is not None:
        typer.echo(f"error: {busy}", err=True)
        raise typer.Exit(2)
    wait_s = timeout_s or settings.enode.link_state_ttl_s
    typer.echo(f"open this URL to link {user_id}; waiting up to {wait_s:g} s:", err=True)
    linked = _run(
        link_user(settings, user_id, clock=clock_for(settings), out=sys.stdout, timeout_s=wait_s)
    )
    typer.echo(f"linked {linked}; tokens stored", err=True)


def _port_in_use(host: str, port: int, user_id: str) -> str | None:
    """Why the callback port cannot be used (the daemon's API, or another program), or None."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            pass
        else:
            return None
    from enode_scheduler.commands.ops import probe

    where = f"{host}:{port} (enode.redirect_uri)"
    if probe(f"http://{host}:{port}/healthz", timeout_s=2.0) is None:
        return (
            f"{where} is the running daemon's API: link through it with "
            f"`curl -X POST -H 'Authorization: Bearer TOKEN' "
            f"http://{host}:{port}/v1/users/{user_id}/link` (a write token), or stop the daemon"
        )
    return f"{where} is in use by another program; set enode.redirect_uri to a free port"


# -- vehicles ----------------------------------------------------------------------------------


async def _read_each_user(
    settings: Settings,
    user_ids: Sequence[str],
    read: Callable[[EnodeClient, str], Coroutine[Any, Any, list[T]]],
    *,
    clock: Clock,
) -> tuple[list[T], list[str]]:
    """`read` for each user (all linked users when none are named), and one line per user that
    failed: one user's broken link must not hide everyone else's devices."""
    readings: list[T] = []
    failures: list[str] = []
    async with _session(settings, clock) as (store, client):
        if not user_ids:
            user_ids = [u.user_id for u in await store.users.list_users() if u.linked]
        for user_id in user_ids:
            try:
                readings.extend(await read(client, user_id))
            except EnodeError as exc:
                failures.append(f"{user_id}: {exc}")
    return readings, failures


async def read_vehicles(
    settings: Settings, user_ids: Sequence[str], *, clock: Clock
) -> tuple[list[VehicleReading], list[str]]:
    """Live readings of the users' vehicles, and one line per user that failed."""
    return await _read_each_user(
        settings, user_ids, lambda client, user: client.list_vehicles(user), clock=clock
    )


def _print_readings(
    rows: Sequence[Any], failures: Sequence[str], *, as_json: bool, table: Callable[[], Table],
    jsonable: Callable[[Any], dict[str, Any]],
) -> None:  # fmt: skip
    if as_json:
        typer.echo(json.dumps([jsonable(r) for r in rows], indent=2))
    else:
        table_console().print(table())
    for line in failures:
        typer.echo(f"error: {line}", err=True)
    if failures:
        raise typer.Exit(1)


def vehicles(
    ctx: typer.Context,
    user: Annotated[
        list[str] | None, typer.Option("--user", "-u", help="Only this user (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead.")] = False,
) -> None:
    """Show the live state of every linked vehicle (or of one user's)."""
    settings = _settings(ctx)
    readings, failures = _run(read_vehicles(settings, user or [], clock=clock_for(settings)))
    _print_readings(
        readings, failures, as_json=as_json, table=lambda: _table(readings), jsonable=_jsonable
    )


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
    id_column(table.columns[1], [r.vehicle_id for r in readings])
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
    """Live readings of the users' chargers, and one line per user that failed."""
    return await _read_each_user(
        settings, user_ids, lambda client, user: client.list_chargers(user), clock=clock
    )


def chargers(
    ctx: typer.Context,
    user: Annotated[
        list[str] | None, typer.Option("--user", "-u", help="Only this user (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead.")] = False,
) -> None:
    """Show the live state of every linked charger (wallbox), or of one user's."""
    settings = _settings(ctx)
    readings, failures = _run(read_chargers(settings, user or [], clock=clock_for(settings)))
    _print_readings(
        readings, failures, as_json=as_json, table=lambda: _charger_table(readings),
        jsonable=_charger_jsonable,
    )  # fmt: skip


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
) -> str:
    """Send one START or STOP to the vehicle or the charger (never retried; check with `vehicles`
    or `chargers`); returns what it was sent to (a unique prefix of a vehicle the daemon has seen
    is completed).

    A START to an unplugged car is refused with InvalidInput: the vendor would accept it and
    nothing would happen.
    """
    from enode_scheduler.records import ChargeAction

    async with _session(settings, clock) as (store, client):
        if charger_id is not None:
            await client.set_charger_charging(user_id, charger_id, action)
            return f"charger {charger_id}"
        assert vehicle_id is not None
        known = await store.vehicles.list_vehicle_ids(user_id)
        if vehicle_id not in known:
            matches = [v for v in known if v.startswith(vehicle_id)]
            if len(matches) == 1:  # a unique prefix, as `plans show` takes
                vehicle_id = matches[0]
        if action is ChargeAction.START:
            reading = await client.get_vehicle(user_id, vehicle_id)
            if reading.is_plugged_in is False:
                raise InvalidInput(f"{vehicle_id} is not plugged in: plug it in, then start")
        await client.set_charging(user_id, vehicle_id, action)
    return vehicle_id


def _charge_command(action: Literal["START", "STOP"]) -> Callable[..., None]:
    # The action is named by its value: the records module (and the planner it pulls in) loads
    # only when a command is sent.
    def command(
        ctx: typer.Context,
        user: Annotated[str, typer.Option("--user", "-u", help="The vehicle's user.")],
        vehicle_id: Annotated[
            str | None,
            typer.Argument(
                help="Enode vehicle id, or a unique prefix of a known one (or --charger)."
            ),
        ] = None,
        charger: Annotated[
            str | None, typer.Option("--charger", help="Send it to this charger instead.")
        ] = None,
    ) -> None:
        if (vehicle_id is None) == (charger is None):
            typer.echo("error: give exactly one of VEHICLE_ID or --charger ID", err=True)
            raise typer.Exit(2)
        from enode_scheduler.records import ChargeAction

        settings = _settings(ctx)
        sent_to = _run(
            send_charge(
                settings,
                user,
                vehicle_id,
                ChargeAction(action),
                clock=clock_for(settings),
                charger_id=charger,
            )
        )
        typer.echo(f"{action} sent to {sent_to}; it acts after its vendor's delay")

    command.__doc__ = (
        f"Send {action} to a vehicle or a charger once (not retried; re-read to verify)."
    )
    return command


charge_app.command("start")(_charge_command("START"))
charge_app.command("stop")(_charge_command("STOP"))
