"""A week of prices with the planned windows and the charge-at-once baseline (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from enode_scheduler.backtest.market import PriceSeries
from enode_scheduler.backtest.replay import Outcome
from enode_scheduler.exceptions import InvalidInput

_WEEK = timedelta(days=7)
_ROWS = 12


def plot_week(path: Path, prices: PriceSeries, outcomes: Sequence[Outcome], title: str) -> None:
    """Draw the week after the first session's plug-in to `path` (PNG)."""
    pyplot = _pyplot()
    start = min(o.session.plug_in for o in outcomes)
    end = start + _WEEK
    shown = [o for o in outcomes if o.session.plug_in < end][:_ROWS]
    figure, (top, bottom) = pyplot.subplots(2, 1, sharex=True, figsize=(12, 6))
    slots = prices.between(start, end)
    top.step(
        [s.start for s in slots], [s.price_per_kwh for s in slots], where="post", color="black"
    )
    top.set_ylabel("price per kWh")
    top.set_title(title)
    for row, outcome in enumerate(shown):
        _bar(bottom, row + 0.15, [outcome.baseline], "tab:gray")
        _bar(bottom, row - 0.25, list(outcome.planned), "tab:green")
    bottom.set_yticks(range(len(shown)), [o.session.session_id for o in shown], fontsize=6)
    bottom.set_xlabel("UTC (grey: charge at once, green: planned)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def _bar(axes: Any, y: float, spans: list[tuple[datetime, datetime]], color: str) -> None:
    axes.broken_barh([(s, e - s) for s, e in spans], (y, 0.35), color=color)


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError as exc:
        raise InvalidInput("--plot needs matplotlib: pip install 'enode-scheduler[plot]'") from exc
    return pyplot
