"""Sites: a shared garage's real sessions under a connection cap, and the joint planner's speed.

Run from the repository root:
    python benchmarks/site.py --site OSL_S --cap-share 0.3            # one month, three strategies
    python benchmarks/site.py --speed                                   # plans per second

The replay (enode_scheduler/backtest/site_replay.py) takes one month of one site's real sessions
(Norwegian apartment garages, `site_id`; or the ACN Caltech workplace garage), moves them onto the
price year like `enode-scheduler backtest`, and compares independent plans (cap ignored),
independent plans behind a reactive limiter, and the joint plan. The cap is `--cap-share` times
the uncontrolled peak: the highest load if every car charged at full power from plug-in.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from enode_scheduler.backtest import site_replay  # noqa: E402
from enode_scheduler.backtest.market import PriceSeries, zone_of  # noqa: E402
from enode_scheduler.backtest.sessions import home_zone, move_to_year, read_sessions  # noqa: E402
from enode_scheduler.planner.models import Goal, Slot, VehicleState  # noqa: E402
from enode_scheduler.planner.site import plan_site  # noqa: E402
from enode_scheduler.planner.site_models import SiteCar  # noqa: E402
from enode_scheduler.prices.file import read_price_csv  # noqa: E402

DATA = ROOT / "data"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--site", default="OSL_S", help="site_id in the sessions file")
    parser.add_argument("--month", help="source month YYYY-MM (default: the site's busiest)")
    parser.add_argument("--cap-share", type=float, default=0.3, help="cap / uncontrolled peak")
    parser.add_argument(
        "--sessions", type=Path, default=DATA / "sessions/norway_residential_sessions.csv.gz"
    )
    parser.add_argument("--prices", type=Path, default=DATA / "prices/NO2_2024.csv")
    parser.add_argument("--speed", action="store_true", help="measure plans per second instead")
    args = parser.parse_args()
    if args.speed:
        speed()
    else:
        replay(args)


def replay(args: argparse.Namespace) -> None:
    sessions = [s for s in read_sessions(args.sessions) if s.site_id == args.site]
    if not sessions:
        sys.exit(f"site.py: no sessions for site {args.site!r} in {args.sessions}")
    month = (
        args.month or Counter(s.plug_in.strftime("%Y-%m") for s in sessions).most_common(1)[0][0]
    )
    chosen = [s for s in sessions if s.plug_in.strftime("%Y-%m") == month]
    prices = PriceSeries(read_price_csv(args.prices))
    price_name = args.prices.name.split(".")[0]
    year = int(price_name.rsplit("_", 1)[1][:4])
    moved = [
        m
        for s in chosen
        if (
            m := move_to_year(
                s,
                home_tz=home_zone(args.sessions),
                price_tz=zone_of(price_name),
                year=year,
                first=prices.first,
                last=prices.last,
            )
        )
        is not None
    ]
    cars = site_replay.cars_of(moved)
    peak = site_replay.uncontrolled_peak_kw(cars)
    cap = max(args.cap_share * peak, max(car.power_kw for car in cars))
    print(
        f"site {args.site}, sessions of {month} on {price_name} prices: {len(cars)} sessions, "
        f"{sum(c.need_kwh for c in cars):.0f} kWh; uncontrolled peak {peak:.1f} kW, "
        f"cap {cap:.1f} kW ({args.cap_share:g} x peak)"
    )
    began = time.perf_counter()
    wanted = site_replay.independent(cars, prices)
    rows = [
        site_replay.score("independent (cap ignored)", cars, wanted, prices, cap, plans=len(cars))
    ]
    limited = site_replay.reactive(cars, wanted, cap)
    rows.append(site_replay.score("reactive limiter", cars, limited, prices, cap, plans=len(cars)))
    together, plans = site_replay.joint(cars, prices, cap)
    rows.append(site_replay.score("joint plan", cars, together, prices, cap, plans=plans))
    seconds = time.perf_counter() - began
    print()
    print("| strategy | cost EUR | EUR/kWh | goals missed | kWh short | time above cap | peak kW |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        per_kwh = row.cost / row.energy_kwh if row.energy_kwh else 0.0
        print(
            f"| {row.name} | {row.cost:.2f} | {per_kwh:.4f} | {row.goals_missed}/{len(cars)} "
            f"| {row.kwh_short:.1f} | {row.seconds_above_cap / 3600:.1f} h | {row.peak_kw:.1f} |"
        )
    print(f"\n{plans} joint plans; whole replay {seconds:.1f} s on this machine")


def speed() -> None:
    """Plans per second for 2, 5, 10 and 20 cars on 48 h of 15-minute prices."""
    rng = random.Random(7)
    now = datetime(2024, 11, 5, 16, 0, tzinfo=UTC)
    slots = [
        Slot(
            now + timedelta(minutes=15 * k),
            now + timedelta(minutes=15 * (k + 1)),
            round(0.05 + 0.25 * rng.random(), 4),
        )
        for k in range(192)
    ]
    print("| cars | cap kW | horizon | plans/s | ms/plan |")
    print("|---|---|---|---|---|")
    for count in (2, 5, 10, 20):
        cases = [_random_site(rng, count, now) for _ in range(5)]
        cap = 3.7 * count
        began = time.perf_counter()
        runs = 0
        while time.perf_counter() - began < 3.0 or runs < 3:
            plan_site(cases[runs % len(cases)], max_kw=cap, slots=slots, now=now)
            runs += 1
        elapsed = time.perf_counter() - began
        rate = runs / elapsed
        print(f"| {count} | {cap:.1f} | 48 h, 15 min | {rate:.1f} | {1000 / rate:.0f} |")


def _random_site(rng: random.Random, count: int, now: datetime) -> list[SiteCar]:
    cars = []
    for index in range(count):
        soc = rng.uniform(10, 60)
        cars.append(
            SiteCar(
                f"car{index}",
                VehicleState(
                    battery_capacity_kwh=rng.choice([40.0, 60.0, 77.0]),
                    soc_percent=soc,
                    max_charge_kw=rng.choice([3.7, 7.4, 11.0]),
                    charge_efficiency=0.9,
                ),
                Goal(
                    target_soc_percent=min(100.0, soc + rng.uniform(20, 50)),
                    deadline=now + timedelta(hours=rng.uniform(12, 48)),
                ),
            )
        )
    return cars


if __name__ == "__main__":
    main()
