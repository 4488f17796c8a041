"""`enode-scheduler plan-site FILE`: the joint planner on site cases (site-case.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from enode_scheduler.commands.plan_case import answer_cases


def plan_site(
    file: Annotated[
        Path,
        typer.Argument(
            help="A JSON site case, or a JSON array of them ('-' reads stdin).", dir_okay=False
        ),
    ],
) -> None:
    """Plan the cars of one capped site (or an array of sites) jointly; print the JSON result(s).

    At every instant the charging cars' powers sum to at most site.max_kw; the plan has the least
    total shortfall, then the least cost plus start penalties.
    """
    answer_cases(file, solve_site, command="plan-site")


def solve_site(case: object) -> dict[str, Any]:
    """Parse, plan and serialise one site case; InvalidCase for a case outside the contract."""
    # The solver is imported here so that other commands do not pay for loading it.
    from enode_scheduler.planner.site import plan_site as plan
    from enode_scheduler.planner.site_case import parse_site_case, site_result_to_json

    cars, max_kw, slots, now = parse_site_case(case)
    return site_result_to_json(plan(cars, max_kw=max_kw, slots=slots, now=now))
