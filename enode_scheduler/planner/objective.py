"""What placement minimises: money, money plus priced CO2, or CO2 first.

Placement (`optimize`) only sees one number per piece, so each objective becomes an effective
price per kWh; the schedule still reports the real energy cost and the real kg CO2 (`planning`).

* Blend (`Goal.co2_price_per_kg`): `price + co2_price_per_kg * g / 1000`. Energy cost plus the
  priced emissions is exactly the sum of this over the charged time, so the placement stays exact.
* CO2 first (`Goal.minimise_co2`): without a start penalty the cheapest-first fill is optimal for
  any order of the pieces, so pieces are ranked by (intensity, price): the lexicographic optimum,
  exactly. With a penalty the programme needs real numbers: `weight * g + price` with a weight
  large enough that any difference in intensity outweighs any difference in price between two
  pieces; a start is then worth `start_penalty / weight` grams of CO2, i.e. CO2 decides and
  money (prices and starts) only breaks what CO2 leaves open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise

from enode_scheduler.planner.models import Goal
from enode_scheduler.planner.timeline import Timeline

_MAX_WEIGHT = 1e6


def objective_timeline(timeline: Timeline, goal: Goal, *, ranks_suffice: bool) -> Timeline:
    """`timeline` with the effective prices of `goal`'s objective (itself when money only).

    `ranks_suffice`: the caller fills cheapest-first, so only the order of the prices matters.
    """
    grams = timeline.intensities
    if not grams or not goal.weighs_co2:
        return timeline
    prices = timeline.prices
    if not goal.minimise_co2:
        per_g = goal.co2_price_per_kg / 1000.0
        return replace(timeline, prices=[p + per_g * g for p, g in zip(prices, grams, strict=True)])
    keys = list(zip(grams, prices, strict=True))
    if ranks_suffice:
        rank = {key: float(i) for i, key in enumerate(sorted(set(keys)))}
        return replace(timeline, prices=[rank[key] for key in keys])
    weight = co2_first_weight(grams, prices)
    return replace(timeline, prices=[weight * g + p for g, p in keys])


def co2_first_weight(grams: Sequence[float], prices: Sequence[float]) -> float:
    """Money per (g/kWh) that makes every intensity step outweigh the whole price spread."""
    distinct = sorted(set(grams))
    gaps = [b - a for a, b in pairwise(distinct)]
    spread = max(prices) - min(prices) if prices else 0.0
    if not gaps or spread <= 0:
        return 1.0
    # Intensities a millionth of a gram apart are equal for any purpose; capping the weight keeps
    # the effective prices where floating point still resolves the price tie-break.
    return min(2.0 * spread / min(gaps) + 1.0, _MAX_WEIGHT)
