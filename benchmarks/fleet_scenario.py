"""The fleet of the scale benchmark: real Norwegian home-charging sessions mapped onto one evening.

Each car takes one real session (plug-in local time of day, connection time, energy, power) from
`data/sessions/norway_residential_sessions.csv.gz`, placed on the evening of `START` in
Oslo. Its goal is the session's energy by its plug-out time. Cars are spread over users, some with
two cars (often of one make), and over the sim's five vendors. A share of the cars is plugged into
a wallbox of their own (`charger_id`) and charged through it: SoC read from the car, START/STOP
sent to the charger.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from enode_scheduler.backtest.sessions import read_sessions as read_real_sessions
from enode_scheduler.sim.config import DEFAULT_VENDORS

# Thursday 23 Oct 2025, 16:00 in Oslo: the packaged NO1 prices cover 21-27 Oct 2025.
START = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")
SESSIONS = Path(__file__).resolve().parents[1] / "data/sessions/norway_residential_sessions.csv.gz"
EFFICIENCY = 0.9
DEFAULT_POWER_KW = 7.4
CHARGER_VENDOR = "EASEE"
CHARGER_SHARE = 0.1  # of the fleet charged through a wallbox


@dataclass(frozen=True, slots=True)
class Session:
    plug_in_local_s: float  # seconds after local midnight
    duration_s: float
    energy_kwh: float
    power_kw: float


@dataclass(frozen=True, slots=True)
class FleetCar:
    """One simulated car, its real session placed on the benchmark's evening, and its goal."""

    vehicle_id: str
    user_id: str
    vendor: str
    capacity_kwh: float
    power_kw: float
    soc_percent: float
    target_percent: float
    plug_in: datetime
    plug_out: datetime
    charger_id: str | None = None

    def needed_h(self) -> float:
        """Hours at full power the goal needs."""
        missing_kwh = (self.target_percent - self.soc_percent) / 100 * self.capacity_kwh
        return max(0.0, missing_kwh) / (self.power_kw * EFFICIENCY)


def read_sessions(path: Path = SESSIONS) -> list[Session]:
    """Every session with energy, as plug-in time of day and length (the reader refuses a
    session that does not end after it starts)."""
    found = []
    for real in read_real_sessions(path):
        if real.energy_kwh <= 0:
            continue
        local = real.plug_in.astimezone(OSLO)
        since_midnight_s = local.hour * 3600 + local.minute * 60 + local.second
        duration_s = (real.plug_out - real.plug_in).total_seconds()
        power = DEFAULT_POWER_KW if real.max_power_kw is None else real.max_power_kw
        found.append(Session(since_midnight_s, duration_s, real.energy_kwh, power))
    return found


def place(session: Session, *, start: datetime = START) -> tuple[datetime, datetime]:
    """The session on the evening of `start`: morning plug-ins belong to the next day."""
    midnight = datetime.combine(start.astimezone(OSLO).date(), datetime.min.time(), tzinfo=OSLO)
    plug_in = (midnight + timedelta(seconds=session.plug_in_local_s)).astimezone(UTC)
    if session.plug_in_local_s < 12 * 3600:
        plug_in += timedelta(days=1)
    return plug_in, plug_in + timedelta(seconds=session.duration_s)


def build_cars(
    sessions: list[Session], vehicles: int, *, seed: int = 7, charger_share: float = CHARGER_SHARE
) -> list[FleetCar]:
    """`vehicles` cars over about two thirds as many users; the same seed gives the same fleet.

    `charger_share` of them (drawn from a generator of their own, so the cars themselves do not
    change with the share) are charged through a wallbox.
    """
    rng = random.Random(seed)
    on_charger = random.Random(seed + 1)
    users = max(1, math.ceil(vehicles / 1.5))
    cars: list[FleetCar] = []
    vendor_of_user: dict[str, str] = {}
    for index in range(vehicles):
        user_id = f"fleet-user-{index % users}"
        profile = rng.choice(DEFAULT_VENDORS)
        if user_id in vendor_of_user and rng.random() < 0.7:
            profile = next(p for p in DEFAULT_VENDORS if p.vendor == vendor_of_user[user_id])
        vendor_of_user.setdefault(user_id, profile.vendor)
        session = rng.choice(sessions)
        capacity_kwh = rng.choice(profile.capacity_kwh)
        soc = float(rng.randint(15, 60))
        gain = session.energy_kwh * EFFICIENCY / capacity_kwh * 100
        plug_in, plug_out = place(session)
        cars.append(
            FleetCar(
                vehicle_id=f"fleet-car-{index}",
                user_id=user_id,
                vendor=profile.vendor,
                capacity_kwh=capacity_kwh,
                power_kw=min(11.0, max(2.3, session.power_kw)),
                soc_percent=soc,
                target_percent=round(min(100.0, soc + gain), 1),
                plug_in=plug_in,
                plug_out=plug_out,
                charger_id=f"fleet-box-{index}" if on_charger.random() < charger_share else None,
            )
        )
    return cars
