"""The demo's story: seven cars of seven makers on one evening in Oslo, on real October prices.

One of them (the Peugeot) is charged through its wallbox, not through its maker's API. Another
(the Audi) stops at a motorway fast charger on the way home: plugged in away from its plan's
charging location, it is left alone there, and planned and controlled once home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from enode_scheduler.config import (
    DatabaseSettings,
    EnodeSettings,
    LoggingSettings,
    PricesSettings,
    SchedulerSettings,
    Settings,
    TariffSettings,
    TimeOfUseFee,
)
from enode_scheduler.sim import SimConfig

TZ = "Europe/Oslo"
ZONE = "NO1"
# Thursday 23 Oct 2025, 16:00 in Oslo: the packaged NO1 prices cover 21-27 Oct 2025.
START = datetime(2025, 10, 23, 14, 0, tzinfo=UTC)
USER = "demo-user"


@dataclass(frozen=True)
class DemoCar:
    """One car of the story: who it is, when it is plugged in, and what its owner wants."""

    vehicle_id: str
    label: str
    vendor: str
    model: str
    capacity_kwh: float
    max_charge_kw: float
    soc_percent: float
    plug_in: time  # local time each evening (or night)
    target_percent: float
    deadline: time  # local time each morning
    start_penalty: float = 0.0
    # Plugged into this wallbox, through which it is charged (SoC still read from the car).
    charger_id: str | None = None
    charger_vendor: str = "EASEE"
    # At a public fast charger (no charging location of the user) between these local times.
    away_from: time | None = None
    away_until: time | None = None
    away_kw: float = 150.0


CARS: tuple[DemoCar, ...] = (
    DemoCar("demo-tesla", "Tesla Model 3", "TESLA", "Model 3", 57.5, 11.0, 35, time(17, 30), 80,
            time(7, 0)),
    DemoCar("demo-vw", "VW ID.4", "VOLKSWAGEN", "ID.4", 77.0, 11.0, 20, time(19, 0), 90,
            time(7, 30)),
    DemoCar("demo-bmw", "BMW i3 (429s)", "BMW", "i3", 42.2, 7.4, 45, time(18, 0), 80, time(6, 30)),
    DemoCar("demo-kona", "Hyundai Kona", "HYUNDAI", "Kona", 64.0, 7.2, 55, time(21, 0), 85,
            time(8, 0), start_penalty=0.3),
    DemoCar("demo-leaf", "Nissan Leaf (too late)", "NISSAN", "Leaf", 40.0, 3.7, 10, time(1, 30),
            100, time(7, 0)),
    DemoCar("demo-peugeot", "Peugeot e-208 (via wallbox)", "PEUGEOT", "e-208", 50.0, 7.4, 30,
            time(18, 30), 80, time(7, 15), charger_id="demo-wallbox"),
    DemoCar("demo-audi", "Audi e-tron (fast charger)", "AUDI", "e-tron", 95.0, 11.0, 15,
            time(20, 30), 80, time(7, 30), away_from=time(17, 15), away_until=time(17, 45),
            away_kw=100.0),
)  # fmt: skip
# What the Audi's drive home from the fast charger uses, in percent.
AWAY_DRIVE_PERCENT = 10.0

# The BMW cloud answers 429 (Retry-After 15 min) from 17:00 to 20:00 local time.
RATE_LIMITED_VENDOR = "BMW"
RATE_LIMITED_VEHICLE = "demo-bmw"
RATE_LIMIT_FROM = START + timedelta(hours=1)
RATE_LIMIT_S = 3 * 3600.0
RETRY_AFTER_S = 900.0


def local_at(day: datetime, at: time) -> datetime:
    """`at` local time on the local date of `day`, in UTC."""
    zone = ZoneInfo(TZ)
    local_day = day.astimezone(zone).date()
    return datetime.combine(local_day, at, tzinfo=zone).astimezone(UTC)


def plug_in_at(car: DemoCar, night: int) -> datetime:
    """When the car is plugged in on evening `night` (0-based); 01:30 belongs to that night."""
    evening = START + timedelta(days=night)
    when = local_at(evening, car.plug_in)
    return when + timedelta(days=1) if car.plug_in < time(12) else when


def away_at(car: DemoCar, night: int) -> tuple[datetime, datetime] | None:
    """When the car is at the fast charger on evening `night`, or None if it never is."""
    if car.away_from is None or car.away_until is None:
        return None
    evening = START + timedelta(days=night)
    return local_at(evening, car.away_from), local_at(evening, car.away_until)


def deadline_at(car: DemoCar, night: int) -> datetime:
    return local_at(START + timedelta(days=night + 1), car.deadline)


def end_at(nights: int) -> datetime:
    """Half past eight the last morning: every deadline has passed."""
    return local_at(START + timedelta(days=nights), time(8, 30))


def sim_config() -> SimConfig:
    return SimConfig(
        vehicles=0,
        users=1,
        user_ids=(USER,),
        seed=1,
        access_token_ttl_s=14 * 24 * 3600,
        smart_charging_every=0,
    )


def settings(state_dir: Path, *, api_url: str, token_url: str, authorize_url: str) -> Settings:
    """Embedded defaults, pointed at the sim, with a Norwegian household tariff."""
    night_fee = TimeOfUseFee(name="night", price_per_kwh=0.03, start=time(22), end=time(6))
    day_fee = TimeOfUseFee(name="day", price_per_kwh=0.06)
    return Settings(
        state_dir=state_dir,
        enode=EnodeSettings(
            client_id="sim-client",
            client_secret="sim-secret",  # noqa: S106 (the fake server's well-known default)
            api_url=api_url,
            token_url=token_url,
            authorize_url=authorize_url,
            max_requests_per_s=20,
        ),
        database=DatabaseSettings(auto_migrate=True),
        prices=PricesSettings(
            source="file",
            zone=ZONE,
            tariff=TariffSettings(
                supplier_markup_per_kwh=0.01, vat=0.25, grid_fees=(night_fee, day_fee), timezone=TZ
            ),
        ),
        scheduler=SchedulerSettings(
            # Half the default: the demo runs every poll of the night, each a request and a
            # write, and its cars follow their plans (window boundaries have their own polls).
            poll_plugged_s=600,
            poll_unplugged_s=900,
            verify_delay_s=90,
            deadline_margin_s=600,
            # the plans are written once, before the daemon starts
            plans_refresh_s=900,
        ),
        logging=LoggingSettings(level="info", format="json"),
    )
