"""`enode-scheduler replicas [--json]`: the live replicas and the shards and cars each runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from enode_scheduler.commands.context import (
    id_column,
    run_on_store,
    settings_from_context,
    table_console,
)

# The store (SQLAlchemy) and rich load inside the command, so that `--help` does not pay for them.
if TYPE_CHECKING:
    from enode_scheduler.records import ReplicaRecord, ShardLease
    from enode_scheduler.store import Store


def replicas(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show each live replica (started, last heartbeat, shards owned, cars) and the shards
    without a live owner. Exit 2 when the database is not set up, 1 when it cannot be read."""
    import json

    settings = settings_from_context(ctx)
    dialect, live, leases, now = run_on_store(ctx, _read)
    report = overview(
        live, leases, now=now, shards_total=settings.scheduler.shards, database=dialect
    )
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _print(report)


async def _read(store: Store) -> tuple[str, list[ReplicaRecord], list[ShardLease], datetime]:
    from enode_scheduler.clock import SystemClock
    from enode_scheduler.store.dbtime import SqlDatabaseTime

    live = await store.shards.replicas(live_only=True)
    leases = await store.shards.leases()
    # The database's clock, as the leases' expiries are on it.
    now = await SqlDatabaseTime(store.engine, clock=SystemClock()).now()
    return store.dialect, live, leases, now


def overview(
    live: Sequence[ReplicaRecord],
    leases: Sequence[ShardLease],
    *,
    now: datetime,
    shards_total: int,
    database: str,
) -> dict[str, Any]:
    """The `--json` object (keys stable): live replicas by holder, with the shards whose lease
    each holds unexpired now (the leases are the truth; a heartbeat's count lags a renewal)."""
    held = Counter(
        lease.holder
        for lease in leases
        if lease.holder is not None and lease.expires_at > now and lease.shard < shards_total
    )
    rows = [
        {
            "holder": r.holder,
            "started_at": _utc(r.started_at),
            "heartbeat_at": _utc(r.heartbeat_at),
            "heartbeat_age_s": round(max((now - r.heartbeat_at).total_seconds(), 0.0), 1),
            "expires_at": _utc(r.expires_at),
            "shards_owned": held.get(r.holder, 0),
            "cars": r.cars,
        }
        for r in sorted(live, key=lambda r: r.holder)
    ]
    return {
        "database": database,
        "now": _utc(now),
        "replicas": rows,
        "shards_total": shards_total,
        "shards_without_owner": shards_total - sum(held.values()),
        "cars_total": sum(r.cars for r in live),
    }


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _print(report: dict[str, Any]) -> None:
    from rich.table import Table

    rows: list[dict[str, Any]] = report["replicas"]
    total = report["shards_total"]
    if not rows:
        typer.echo("no daemon is running (no replica has sent a heartbeat lately)")
    else:
        table = Table("replica", "started (UTC)", "last heartbeat", "shards", "cars")
        id_column(table.columns[0], [r["holder"] for r in rows])
        for r in rows:
            started = datetime.fromisoformat(r["started_at"])
            table.add_row(
                r["holder"], f"{started:%Y-%m-%d %H:%M:%S}", f"{r['heartbeat_age_s']:.0f} s ago",
                str(r["shards_owned"]), str(r["cars"]),
            )  # fmt: skip
        table_console().print(table)
    typer.echo(f"shards without a live owner: {report['shards_without_owner']} of {total}")
    typer.echo(f"cars: {report['cars_total']} on {len(rows)} replica(s)")
