"""`enode-scheduler sim`: run the fake Enode server for demos, scripts and other programs."""

from __future__ import annotations

import json
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def trial_config(info: dict[str, Any], path: Path, *, redirect_port: int) -> str:
    """A config for `enode-scheduler --config PATH ...` against this sim: its client and URLs,
    its clock, a database beside the file, and prices replayed onto the sim's dates."""
    state_dir = path.resolve().parent / f"{path.stem}-state"
    host = info["api_url"].split("://", 1)[1].rsplit(":", 1)[0]
    lines = [
        f"# Written by `enode-scheduler sim` for a trial against the fake Enode at "
        f"{info['api_url']}",
        f"# (control API: {info['control_url']}). Never point it at a real car.",
        f"state_dir = {json.dumps(str(state_dir))}",
        "",
        "[enode]",
        f"client_id = {json.dumps(info['client_id'])}",
        f"client_secret = {json.dumps(info['client_secret'])}",
        f"api_url = {json.dumps(info['api_url'])}",
        f"token_url = {json.dumps(info['token_url'])}",
        f"authorize_url = {json.dumps(info['authorize_url'])}",
        f'redirect_uri = "http://{host}:{redirect_port}/oauth/callback"',
        "",
        "[database]",
        "auto_migrate = true",
        "",
        "[prices]",
        'source = "replay"  # the packaged real prices, laid onto the sim\'s dates',
        'zone = "NO1"',
    ]
    if "clock_speed" in info:
        lines += [
            "",
            "[clock]  # the sim's clock: the daemon and every command read the same time",
            f"speed = {float(info['clock_speed'])!r}",
            f"start = {json.dumps(info['clock_start'])}",
            f"anchor_unix = {float(info['clock_anchor_unix'])!r}",
        ]
    return "\n".join(lines) + "\n"


async def _serve(config: SimConfig, clock: Clock, write_config: Path | None) -> None:
    import asyncio

    from enode_scheduler.sim import run_sim

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with run_sim(config, clock=clock) as sim:
        info = sim.ready_info()
        if write_config is not None:
            text = trial_config(info, write_config, redirect_port=free_port(config.host))
            # Written whole, then renamed: a script waiting for the file never reads half of it.
            partial = write_config.with_name(write_config.name + ".partial")
            partial.write_text(text, encoding="utf-8")
            partial.replace(write_config)
        sys.stdout.write(json.dumps(info) + "\n")
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
    write_config: Annotated[
        Path | None,
        typer.Option(
            help="Once listening, write a config for the daemon and the other commands to this "
            "file: the sim's client and URLs, its clock (a \\[clock] section), replayed prices.",
            dir_okay=False,
        ),
    ] = None,
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
        asyncio.run(_serve(config, clock, write_config))
    except OSError as exc:
        if write_config is not None and exc.filename is not None:
            raise _fail(f"--write-config: cannot write {exc.filename}: {exc.strerror}") from exc
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
