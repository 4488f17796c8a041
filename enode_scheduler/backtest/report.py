"""Totals over replayed sessions: saving against charging at once, gap to perfect foresight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from enode_scheduler.backtest.replay import Outcome


@dataclass(frozen=True, slots=True)
class Summary:
    """Totals for one price series; money in the price file's currency (EUR)."""

    prices: str
    sessions: int
    skipped: int
    energy_kwh: float
    baseline_cost: float
    planned_cost: float
    foresight_cost: float
    infeasible: int
    replans: int
    planned_starts: int = 0
    foresight_starts: int = 0

    @property
    def saving(self) -> float:
        return self.baseline_cost - self.planned_cost

    @property
    def foresight_saving(self) -> float:
        return self.baseline_cost - self.foresight_cost

    @property
    def gap(self) -> float:
        """What the daemon-style plan pays above perfect foresight."""
        return self.planned_cost - self.foresight_cost

    def percent(self, value: float) -> float:
        return 100.0 * value / self.baseline_cost if self.baseline_cost else 0.0

    def captured_percent(self) -> float:
        """Share of the foresight saving the daemon-style plan achieves."""
        return 100.0 * self.saving / self.foresight_saving if self.foresight_saving else 100.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            saving=self.saving,
            saving_percent=self.percent(self.saving),
            foresight_saving=self.foresight_saving,
            foresight_saving_percent=self.percent(self.foresight_saving),
            gap_to_foresight=self.gap,
            captured_percent=self.captured_percent(),
            baseline_eur_per_kwh=self.baseline_cost / self.energy_kwh if self.energy_kwh else 0.0,
            planned_eur_per_kwh=self.planned_cost / self.energy_kwh if self.energy_kwh else 0.0,
        )
        return data


def summarise(prices: str, outcomes: Sequence[Outcome], *, skipped: int) -> Summary:
    """Add up the outcomes of one price series."""
    return Summary(
        prices=prices,
        sessions=len(outcomes),
        skipped=skipped,
        energy_kwh=sum(o.energy_kwh for o in outcomes),
        baseline_cost=sum(o.baseline_cost for o in outcomes),
        planned_cost=sum(o.planned_cost for o in outcomes),
        foresight_cost=sum(o.foresight_cost for o in outcomes),
        infeasible=sum(1 for o in outcomes if not o.feasible),
        replans=sum(o.replans for o in outcomes),
        planned_starts=sum(o.planned_starts for o in outcomes),
        foresight_starts=sum(o.foresight_starts for o in outcomes),
    )


def table_rows(summary: Summary) -> list[tuple[str, str]]:
    """(label, value) rows for a human-readable table."""
    s = summary
    return [
        ("sessions (skipped)", f"{s.sessions:,} ({s.skipped:,})"),
        ("energy", f"{s.energy_kwh:,.0f} kWh"),
        ("charge at once (baseline)", f"{s.baseline_cost:,.2f}"),
        ("daemon-style plan", f"{s.planned_cost:,.2f}"),
        ("perfect foresight", f"{s.foresight_cost:,.2f}"),
        ("saving vs baseline", f"{s.saving:,.2f} ({s.percent(s.saving):.1f} %)"),
        ("foresight saving", f"{s.foresight_saving:,.2f} ({s.percent(s.foresight_saving):.1f} %)"),
        ("gap to foresight", f"{s.gap:,.2f} ({s.captured_percent():.1f} % of saving captured)"),
        ("cannot make it", f"{s.infeasible:,}"),
        ("replans at publication", f"{s.replans:,}"),
        ("charging starts: plan / foresight", f"{s.planned_starts:,} / {s.foresight_starts:,}"),
    ]
