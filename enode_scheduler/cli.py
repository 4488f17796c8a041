"""The `enode-scheduler` command.

Each group of subcommands lives in `enode_scheduler/commands/`; this module only builds the root
app, holds the global `--config` option and maps the error tree to exit codes.

Every command module is imported here, so none of them imports anything heavy at module level:
SQLAlchemy, alembic, httpx, FastAPI, pydantic-settings, structlog and rich load inside the
command that uses them, and `--help` or `plan-case` do not pay for the daemon's imports
(benchmarks/cli_start.py times them; tests/unit/test_cli_imports.py names the modules).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperOption

from enode_scheduler import __version__
from enode_scheduler.commands import api as api_commands
from enode_scheduler.commands import co2 as co2_commands
from enode_scheduler.commands import config as config_commands
from enode_scheduler.commands import daemon as daemon_commands
from enode_scheduler.commands import db as db_commands
from enode_scheduler.commands import enode as enode_commands
from enode_scheduler.commands import locations as locations_commands
from enode_scheduler.commands import notify as notify_commands
from enode_scheduler.commands import ops
from enode_scheduler.commands import plans as plans_commands
from enode_scheduler.commands import prices as prices_commands
from enode_scheduler.commands import replicas as replicas_commands
from enode_scheduler.commands import sim as sim_command
from enode_scheduler.commands import sites as sites_commands
from enode_scheduler.commands import users as users_commands
from enode_scheduler.commands.backtest import backtest
from enode_scheduler.commands.context import settings_from_context
from enode_scheduler.commands.plan_case import plan_case
from enode_scheduler.commands.plan_site import plan_site

__all__ = ["app", "main", "settings_from_context"]


_display_type = TyperOption.display_type_rich


def _flag_without_type(self: TyperOption, ctx: Any) -> str | None:
    # typer prints `<bool>` beside every flag (`--json <bool>`), as if it took a value.
    return None if self.is_flag else _display_type(self, ctx)


TyperOption.display_type_rich = _flag_without_type  # type: ignore[method-assign]


app = typer.Typer(
    name="enode-scheduler",
    help="Smart-charging scheduler for electric vehicles on the Enode API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="ENODE_SCHEDULER_CONFIG",
            help="TOML config file (default: built-in defaults).",
            dir_okay=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Smart-charging scheduler for electric vehicles on the Enode API."""
    ctx.obj = {"config_path": config}


# Registration order is the order `--help` lists them: daily use first, tools last.
app.command("run")(daemon_commands.run)
app.command("demo")(daemon_commands.demo)
app.add_typer(plans_commands.app, name="plans")
app.add_typer(locations_commands.app, name="locations")
app.add_typer(sites_commands.app, name="sites")
app.command("link")(enode_commands.link)
app.command("vehicles")(enode_commands.vehicles)
app.command("chargers")(enode_commands.chargers)
app.add_typer(enode_commands.charge_app, name="charge")
app.add_typer(prices_commands.app, name="prices")
app.add_typer(users_commands.app, name="users")
app.add_typer(co2_commands.app, name="co2")
app.command("plan-case")(plan_case)
app.command("plan-site")(plan_site)
app.command("backtest")(backtest)
app.command("sim")(sim_command.sim)
app.command("check-config")(config_commands.check_config)
app.command("config-reference")(ops.config_reference)
app.add_typer(db_commands.app, name="db")
app.add_typer(api_commands.api_app, name="api")
app.add_typer(api_commands.webhooks_app, name="webhooks")
app.add_typer(notify_commands.app, name="notify")
app.command("healthcheck")(ops.healthcheck)
app.command("replicas")(replicas_commands.replicas)


def main() -> None:
    app()
