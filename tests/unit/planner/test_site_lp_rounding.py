"""The site LP on a case from the ACN Caltech replay whose cost phase HiGHS found infeasible
with the energy floor at exactly the first phase's optimum (rounding, not the model)."""

from __future__ import annotations

import pytest

from enode_scheduler.planner.site_lp import Segment, solve_configurations

# An hour of a workplace garage: 7 cars, one at 32 kW, under a 46.8 kW cap.
FIRST = [
    Segment(0.9969444444444444, 0.05529, 46.80238568688468, (0, 1, 2, 3, 4, 5, 6)),
    Segment(0.06194444444444445, 0.05509, 46.80238568688468, (0, 1, 2, 3, 4, 5, 6)),
    Segment(0.01611111111111111, 0.05509, 46.80238568688468, (0, 2, 3, 4, 5, 6)),
    Segment(0.9219444444444445, 0.05509, 46.80238568688468, (0, 2, 3, 4, 5)),
    Segment(0.1913888888888889, 0.054950000000000006, 46.80238568688468, (0, 2, 3, 4, 5)),
    Segment(0.8086111111111111, 0.054950000000000006, 46.80238568688468, (0, 2, 3, 5)),
    Segment(0.060833333333333336, 0.054770000000000006, 46.80238568688468, (0, 2, 3, 5)),
    Segment(0.6641666666666667, 0.054770000000000006, 46.80238568688468, (0, 2, 5)),
    Segment(0.275, 0.054770000000000006, 46.80238568688468, (0, 2)),
    Segment(0.2425, 0.055060000000000005, 46.80238568688468, (0, 2)),
    Segment(0.4072222222222222, 0.055060000000000005, 46.80238568688468, (2,)),
]
FIRST_POWER = [
    0.5422804718217562,
    6.31327267022278,
    0.44137691840804644,
    0.33928641442854346,
    1.808771319178559,
    3.5710305653232353,
    32.01488372093023,
]
FIRST_NEED = [
    2.2989679619145473,
    6.685054539063067,
    2.050931437252406,
    1.0374624583415017,
    3.9581945701357464,
    13.29117737354612,
    34.416,
]


# Another, which a floor 1e-8 lower did not yet free.
SECOND = [
    Segment(0.10777777777777778, 0.039299999999999995, 46.80238568688468, (0, 1, 2, 3, 4)),
    Segment(0.09638888888888889, 0.039299999999999995, 46.80238568688468, (0, 1, 2, 4)),
    Segment(0.6625, 0.039299999999999995, 46.80238568688468, (0, 2, 4)),
    Segment(0.010555555555555556, 0.039299999999999995, 46.80238568688468, (0, 4)),
    Segment(0.08916666666666667, 0.039299999999999995, 46.80238568688468, (4,)),
    Segment(0.6258333333333334, 0.038799999999999994, 46.80238568688468, (4,)),
]
SECOND_POWER = [
    1.093028095733611,
    0.5197735191637631,
    1.7072580645161288,
    29.18145695364239,
    0.5683879972086532,
]
SECOND_NEED = [
    0.9588285672743648,
    0.10612050508405968,
    1.4796237256270164,
    3.145113442013244,
    0.905,
]


@pytest.mark.parametrize(
    ("segments", "power", "need", "most"),
    [
        pytest.param(FIRST, FIRST_POWER, FIRST_NEED, 63.73778831193429, id="first"),
        pytest.param(SECOND, SECOND_POWER, SECOND_NEED, 6.594686092030852, id="second"),
    ],
)
def test_a_rounding_tight_energy_floor_still_gets_the_cheapest_plan(
    segments: list[Segment],
    power: list[float],
    need: list[float],
    most: float,
) -> None:
    allocation = solve_configurations(segments, power, need)
    delivered = sum(
        hours * sum(power[car] for car in cars) for runs in allocation.runs for cars, hours in runs
    )
    assert delivered == pytest.approx(most, rel=1e-6)
    assert allocation.delivered_kwh == pytest.approx(delivered, rel=1e-6)
    for segment, runs in zip(segments, allocation.runs, strict=True):
        assert sum(hours for _cars, hours in runs) <= segment.hours + 1e-6
        for cars, _hours in runs:
            assert sum(power[car] for car in cars) <= segment.cap_kw + 1e-9
    # The cost is the LP's: every kWh at the price of the segment it is charged in.
    cost = sum(
        hours * sum(power[car] for car in cars) * segment.price_per_kwh
        for segment, runs in zip(segments, allocation.runs, strict=True)
        for cars, hours in runs
    )
    assert allocation.cost == pytest.approx(cost, rel=1e-9)
