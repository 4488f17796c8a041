"""The CO2 backtest: the same sessions charged at once and planned on price, on CO2 and on blends.

Every strategy plans like the daemon (`replay.daemon_windows`: prices and intensity known as far
as the day-ahead prices are published, the rest estimated, replans at each publication); cost and
emissions are what the executed windows cost and emit at the real prices and intensities. The
intensity series is put on the price slots with `planner.intensity.with_intensity`, as the daemon
does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from enode_scheduler.backtest.market import PriceSeries
from enode_scheduler.backtest.replay import ReplayOptions, daemon_windows, session_case
from enode_scheduler.backtest.sessions import Session
from enode_scheduler.planner.intensity import with_intensity
from enode_scheduler.planner.models import IntensitySlot

AT_ONCE = "charge at once"


@dataclass(frozen=True, slots=True)
class Strategy:
    """What a plan minimises: money, money + price_per_kg * kg, or CO2 first."""

    name: str
    co2_price_per_kg: float = 0.0
    minimise_co2: bool = False


def strategies(blend_prices: Sequence[float]) -> list[Strategy]:
    """Price only, one blend per price per kg, CO2 only (in that order)."""
    blends = [Strategy(f"blend {k:g} EUR/kg CO2", co2_price_per_kg=k) for k in blend_prices]
    return [Strategy("price only"), *blends, Strategy("CO2 only", minimise_co2=True)]


def series_with_intensity(prices: PriceSeries, intensity: Sequence[IntensitySlot]) -> PriceSeries:
    """`prices` whose slots carry the intensity; hours without one are refused (real data only)."""
    slots = with_intensity(prices.slots, intensity, estimate=None)
    missing = [s.start for s in slots if s.g_co2_per_kwh is None]
    if missing:
        raise ValueError(f"no intensity for {len(missing)} price slot(s), first {missing[0]}")
    return PriceSeries(slots)


@dataclass(frozen=True, slots=True)
class Co2Outcome:
    """Cost (EUR) and emissions (kg) of one session per strategy, charge-at-once first."""

    energy_kwh: float
    results: dict[str, tuple[float, float]]


def replay_co2(
    session: Session, prices: PriceSeries, options: ReplayOptions, plans: Sequence[Strategy]
) -> Co2Outcome:
    power = options.power_kw or session.max_power_kw or options.default_power_kw
    state, goal = session_case(session, power, options)
    duration_h = (session.plug_out - session.plug_in).total_seconds() / 3600.0
    energy = min(session.energy_kwh, power * duration_h)
    at_once_end = session.plug_in + timedelta(hours=energy / power)
    results = {
        AT_ONCE: (
            prices.cost(session.plug_in, at_once_end, power),
            prices.co2_kg(session.plug_in, at_once_end, power),
        )
    }
    for strategy in plans:
        wanted = replace(
            goal, co2_price_per_kg=strategy.co2_price_per_kg, minimise_co2=strategy.minimise_co2
        )
        windows, _ = daemon_windows(session, prices, state, wanted)
        results[strategy.name] = (
            sum(prices.cost(start, end, power) for start, end in windows),
            sum(prices.co2_kg(start, end, power) for start, end in windows),
        )
    return Co2Outcome(energy, results)


@dataclass(frozen=True, slots=True)
class Co2Summary:
    """Totals of one price/intensity pair: per strategy (cost EUR, kg CO2)."""

    prices: str
    sessions: int
    skipped: int
    energy_kwh: float
    totals: dict[str, tuple[float, float]]

    def rows(self) -> list[tuple[str, float, float, float, float]]:
        """(strategy, cost, kg, saving %, CO2 saved %) against charging at once."""
        base_cost, base_kg = self.totals[AT_ONCE]
        return [
            (
                name,
                cost,
                kg,
                100.0 * (base_cost - cost) / base_cost if base_cost else 0.0,
                100.0 * (base_kg - kg) / base_kg if base_kg else 0.0,
            )
            for name, (cost, kg) in self.totals.items()
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "prices": self.prices,
            "sessions": self.sessions,
            "skipped": self.skipped,
            "energy_kwh": self.energy_kwh,
            "strategies": [
                {
                    "strategy": name,
                    "cost": cost,
                    "co2_kg": kg,
                    "saving_percent": saving,
                    "co2_saving_percent": co2_saving,
                }
                for name, cost, kg, saving, co2_saving in self.rows()
            ],
        }


def summarise_co2(name: str, outcomes: Sequence[Co2Outcome], *, skipped: int) -> Co2Summary:
    totals: dict[str, tuple[float, float]] = {}
    for outcome in outcomes:
        for strategy, (cost, kg) in outcome.results.items():
            old_cost, old_kg = totals.get(strategy, (0.0, 0.0))
            totals[strategy] = (old_cost + cost, old_kg + kg)
    return Co2Summary(
        prices=name,
        sessions=len(outcomes),
        skipped=skipped,
        energy_kwh=sum(o.energy_kwh for o in outcomes),
        totals=totals,
    )
