"""`enode-scheduler plan-case FILE`: run the planner on contract cases (planner-case.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from enode_scheduler.exceptions import InvalidCase


def plan_case(
    file: Annotated[
        Path,
        typer.Argument(
            help="A JSON case, or a JSON array of cases ('-' reads stdin).", dir_okay=False
        ),
    ],
) -> None:
    """Plan one case (or an array of cases) from FILE and print the JSON result(s)."""
    answer_cases(file, solve, command="plan-case")


Solver = Callable[[object], dict[str, Any]]


def answer_cases(file: Path, solver: Solver, *, command: str) -> None:
    """Print the result of one case, or the array of results of an array of cases.

    One bad case exits 2 with a line naming it; in an array it gives `{"error": ...}` instead, so
    the other cases still get their answers.
    """
    try:
        document = _load(file)
    except InvalidCase as exc:
        typer.echo(f"{command}: {exc}", err=True)
        raise typer.Exit(2) from exc
    if isinstance(document, list):
        typer.echo(json.dumps([_solve_or_error(solver, case) for case in document]))
        return
    try:
        result = solver(document)
    except InvalidCase as exc:
        typer.echo(f"{command}: {file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result))


def solve(case: object) -> dict[str, Any]:
    """Parse, plan and serialise one case; raises InvalidCase for a case outside the contract."""
    # The planner loads on the first case, not for `--help`.
    from enode_scheduler.planner import plan
    from enode_scheduler.planner.case import parse_case, result_to_json, uses_co2

    state, goal, slots, now = parse_case(case)
    return result_to_json(plan(state, goal, slots, now=now), with_co2=uses_co2(case))


def _solve_or_error(solver: Solver, case: object) -> dict[str, Any]:
    try:
        return solver(case)
    except InvalidCase as exc:
        return {"error": str(exc)}


def _load(file: Path) -> object:
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidCase(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidCase(f"{file} is not JSON: {exc.msg} at line {exc.lineno}") from exc
