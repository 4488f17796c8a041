"""`enode-scheduler sites add|attach|detach|list|remove`: charging locations under one power cap.

A site is one grid connection shared by several cars (a house, an apartment garage of many
users); `plan-site` computes the joint plan of such a group from a case file.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from enode_scheduler.commands.context import run_on_store

# The store (SQLAlchemy) and rich load inside the commands, so that `--help` does not pay for them.
if TYPE_CHECKING:
    from enode_scheduler.records import SiteLocation, SiteRecord
    from enode_scheduler.store import Store

app = typer.Typer(
    help="Sites: charging locations behind one grid connection with a power cap.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="The site's name (letters, digits, . _ : @ -).")]
UserOpt = Annotated[str, typer.Option("--user", help="The user whose charging location it is.")]
LocationOpt = Annotated[
    str, typer.Option("--location", help="The charging location's id (e.g. Enode's).")
]


def _location(user: str, location: str) -> SiteLocation:
    from enode_scheduler.records import SiteLocation

    return SiteLocation(user_id=user, location_id=location)


@app.command()
def add(
    ctx: typer.Context,
    name: NameArg,
    max_kw: Annotated[
        float, typer.Option("--max-kw", help="The connection's cap: kW all cars may draw at once.")
    ],
) -> None:
    """Create a site with its power cap, or change the cap of an existing one."""

    async def put(store: Store) -> tuple[SiteRecord | None, SiteRecord]:
        old = await store.sites.get_site(name)
        site, _ = await store.sites.put_site(name, max_kw=max_kw)
        return old, site

    old, site = run_on_store(ctx, put)
    if old is None:
        typer.echo(f"site {site.name} created with a cap of {site.max_kw:g} kW")
    else:
        typer.echo(
            f"site {site.name} exists: cap changed from {old.max_kw:g} kW to {site.max_kw:g} kW"
        )


@app.command()
def attach(ctx: typer.Context, name: NameArg, user: UserOpt, location: LocationOpt) -> None:
    """Put a user's charging location in the site (a location is in one site at most)."""
    where = _location(user, location)
    site = run_on_store(ctx, lambda store: store.sites.attach_location(name, where))
    typer.echo(
        f"location {location} of user {user} is in site {site.name} "
        f"({len(site.locations)} location(s), cap {site.max_kw:g} kW)"
    )


@app.command()
def detach(ctx: typer.Context, name: NameArg, user: UserOpt, location: LocationOpt) -> None:
    """Take a user's charging location out of the site."""
    where = _location(user, location)
    if not run_on_store(ctx, lambda store: store.sites.detach_location(name, where)):
        typer.echo(
            f"error: location {location!r} of user {user!r} is not in site {name!r}", err=True
        )
        raise typer.Exit(2)
    typer.echo(f"location {location} of user {user} detached from site {name}")


@app.command("list")
def list_sites(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Show every site with its cap and charging locations."""
    sites = run_on_store(ctx, lambda store: store.sites.list_sites())
    if as_json:
        typer.echo(json.dumps([site_json(s) for s in sites], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("site", "cap (kW)", "locations (user / location)")
    for site in sites:
        where = "\n".join(f"{loc.user_id} / {loc.location_id}" for loc in site.locations)
        table.add_row(site.name, f"{site.max_kw:g}", where or "-")
    Console().print(table)


@app.command()
def remove(ctx: typer.Context, name: NameArg) -> None:
    """Remove the site and detach its charging locations."""
    if not run_on_store(ctx, lambda store: store.sites.delete_site(name)):
        typer.echo(f"error: site {name!r} does not exist", err=True)
        raise typer.Exit(2)
    typer.echo(f"site {name} removed")


def site_json(site: SiteRecord) -> dict[str, Any]:
    return {
        "name": site.name,
        "max_kw": site.max_kw,
        "locations": [
            {"user_id": loc.user_id, "location_id": loc.location_id} for loc in site.locations
        ],
        "created_at": site.created_at.isoformat() if site.created_at else None,
        "updated_at": site.updated_at.isoformat() if site.updated_at else None,
    }
