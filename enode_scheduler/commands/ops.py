"""Operator commands: `config-reference` and `healthcheck` (Docker HEALTHCHECK, monitoring)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

DEFAULT_HEALTH_URL = "http://127.0.0.1:8080/healthz"
LISTEN_ENV = "ENODE_SCHEDULER__API__LISTEN"
# A daemon bound to a wildcard address is reached on the loopback of the same family.
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}  # noqa: S104


def config_reference() -> None:
    """Print the configuration reference (Markdown) generated from the settings model."""
    from enode_scheduler.config.reference import render_reference  # the pydantic model

    typer.echo(render_reference(), nl=False)


def healthcheck(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Health URL to ask (default: /healthz on api.listen, else port 8080).",
        ),
    ] = None,
    timeout_s: Annotated[
        float,
        typer.Option("--timeout-s", min=0.001, help="Seconds to wait for the answer."),
    ] = 3.0,
) -> None:
    """Ask the running daemon's /healthz; exit 0 when healthy, 1 when not (2: bad input)."""
    config_path = (ctx.obj or {}).get("config_path")
    target = url if url is not None else health_url(_configured_listen(config_path))
    if not target.startswith(("http://", "https://")):
        _usage_error(f"--url: {target!r} is not an http:// or https:// URL")
    problem = probe(target, timeout_s=timeout_s)
    if problem is not None:
        typer.echo(f"unhealthy: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo("ok")


def probe(url: str, *, timeout_s: float) -> str | None:
    """GET `url`; None when it answers 2xx, else one line saying what went wrong."""
    import httpx  # a tenth of a second at import; only the probe needs it

    # Proxy variables must not divert a probe meant for this host.
    try:
        with httpx.Client(timeout=timeout_s, trust_env=False) as client:
            response = client.get(url)
    # The probe's whole job is to turn any transport failure into "unhealthy".
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__} from {url}"
    if response.is_success:
        return None
    return f"HTTP {response.status_code} from {url}"


def health_url(listen: str | None) -> str:
    """The /healthz URL of a daemon configured with `[api] listen = "HOST:PORT"`."""
    if listen is None:
        return DEFAULT_HEALTH_URL
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        _usage_error(f"api.listen: {listen!r} is not HOST:PORT")
    host = _WILDCARDS.get(host.strip("[]") if host.startswith("[") else host, host)
    return f"http://{host}:{port}/healthz"


def _configured_listen(config_path: Path | None) -> str | None:
    # Deliberately reads only this one key: a health probe runs every few seconds and must
    # not fail because some other setting or a secret file is unreadable by the probe.
    env = os.environ.get(LISTEN_ENV)
    if env:
        return env
    if config_path is None:
        return None
    try:
        data: dict[str, Any] = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        _usage_error(f"--config: cannot read {config_path}: {exc}")
    listen = data.get("api", {}).get("listen")
    if listen is not None and not isinstance(listen, str):
        _usage_error(f"api.listen: {listen!r} is not a string")
    return listen


def _usage_error(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(2)
