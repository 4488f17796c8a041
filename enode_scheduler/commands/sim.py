"""`enode-scheduler sim`: run the fake Enode server for demos, scripts and other programs."""

from __future__ import annotations

import json
import signal
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

# The fake server (uvicorn, starlette) loads when `sim` runs, not for `--help`.
if TYPE_CHECKING:
    from enode_scheduler.clock import Clock
    from enode_scheduler.sim import SimConfig


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _fail(f"--start {value!r} is not an ISO-8601 date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _clock(start: datetime | None, speed: float | None, anchor_unix: float | None) -> Clock:
    from enode_scheduler.clock import ScaledClock, SystemClock

    if start is None and speed is None:
        return SystemClock()
    if speed is not None and speed <= 0:
        raise _fail(f"--speed must be positive, not {speed}")
    # Without --start the sim time begins at the wall-clock time of the anchor.
    begin = start or SystemClock().now()
    return ScaledClock(start=begin, speed=speed or 1.0, anchor_unix=anchor_unix)


async def _serve(config: SimConfig, clock: Clock) -> None:
    import asyncio

    from enode_scheduler.sim import run_sim

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with run_sim(config, clock=clock) as sim:
        sys.stdout.write(json.dumps(sim.ready_info()) + "\n")
        sys.stdout.flush()
        await stop.wait()


def sim(
    port: Annotated[int, typer.Option(help="TCP port on loopback; 0 picks a free one.")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on (keep it loopback).")] = (
        "127.0.0.1"
    ),
    vehicles: Annotated[int, typer.Option(min=0, help="Number of simulated vehicles.")] = 3,
    users: Annotated[int, typer.Option(min=1, help="Users the vehicles are spread over.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed; the same seed gives the same fleet.")] = 0,
    speed: Annotated[
        float | None, typer.Option(help="Sim time runs this many times faster than real time.")
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Sim time at the anchor, ISO-8601 (default: now).")
    ] = None,
    anchor_unix: Annotated[
        float | None,
        typer.Option(help="Unix time at which the sim clock reads --start (default: now)."),
    ] = None,
    command_delay_s: Annotated[
        float | None,
        typer.Option("--command-delay", help="Seconds before cars act on commands (all vendors)."),
    ] = None,
    token_ttl_s: Annotated[
        float, typer.Option("--token-ttl", help="Access-token lifetime in sim seconds.")
    ] = 3600.0,
    vehicles_on_link: Annotated[
        int, typer.Option(min=0, help="Cars a new user gets on completing the link flow.")
    ] = 0,
    request_log_size: Annotated[
        int, typer.Option(min=1, help="Requests the log keeps (the oldest drop out).")
    ] = 10_000,
    log_bodies: Annotated[
        bool, typer.Option(help="Keep response bodies in the request log.")
    ] = True,
    client_id: Annotated[str, typer.Option(help="OAuth client id the sim accepts.")] = (
        "sim-client"
    ),
    client_secret: Annotated[
        str, typer.Option(help="OAuth client secret the sim accepts.")
    ] = "sim-secret",  # noqa: S107 (a fake server's well-known default)
) -> None:
    """Serve a fake Enode API on loopback; print one JSON line with its URLs when ready."""
    import asyncio

    from enode_scheduler.sim import SimConfig

    clock = _clock(_parse_start(start), speed, anchor_unix)
    config = SimConfig(
        vehicles=vehicles,
        users=users,
        seed=seed,
        host=host,
        port=port,
        client_id=client_id,
        client_secret=client_secret,
        command_delay_s=command_delay_s,
        access_token_ttl_s=token_ttl_s,
        vehicles_on_link=vehicles_on_link,
        request_log_size=request_log_size,
        log_response_bodies=log_bodies,
    )
    try:
        asyncio.run(_serve(config, clock))
    except OSError as exc:
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
