"""A deterministic fleet: the same seed always gives the same users, cars and states."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from enode_scheduler.sim.charger import SimCharger
from enode_scheduler.sim.config import SimConfig, VendorProfile
from enode_scheduler.sim.vehicle import SimVehicle

# Around Oslo, so locations look plausible on a map.
_BASE_LAT, _BASE_LON = 59.91, 10.75


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_fleet(config: SimConfig, *, now: datetime) -> list[SimVehicle]:
    """`config.vehicles` cars spread round-robin over the users and vendors."""
    rng = random.Random(config.seed)  # noqa: S311
    users = config.user_id_list()
    fleet = []
    for index in range(config.vehicles):
        profile = config.vendors[index % len(config.vendors)]
        user_id = users[index % len(users)] if users else "user-1"
        smart = config.smart_charging_every > 0 and index % config.smart_charging_every == (
            config.smart_charging_every - 1
        )
        fleet.append(_vehicle(rng, profile, user_id, smart=smart, now=now, config=config))
    return fleet


def _vehicle(
    rng: random.Random,
    profile: VendorProfile,
    user_id: str,
    *,
    smart: bool,
    now: datetime,
    config: SimConfig,
) -> SimVehicle:
    vehicle = SimVehicle(
        id=seeded_uuid(rng),
        user_id=user_id,
        vendor=profile.vendor,
        model=rng.choice(profile.models),
        year=rng.randint(2019, 2024),
        capacity_kwh=rng.choice(profile.capacity_kwh),
        max_charge_kw=rng.choice(profile.max_charge_kw),
        efficiency=profile.efficiency,
        charge_limit_percent=rng.choice((80.0, 90.0, 100.0)),
        soc_percent=float(rng.randint(15, 70)),
        plugged_in=False,
        charging=False,
        reasons=["NOT_PLUGGED_IN"],
        updated_at=now,
        latitude=round(_BASE_LAT + rng.uniform(-0.2, 0.2), 5),
        longitude=round(_BASE_LON + rng.uniform(-0.3, 0.3), 5),
        odometer_km=float(rng.randint(2_000, 90_000)),
        smart_enabled=smart,
        smart_deadline="07:00" if smart else None,
    )
    if rng.random() < 0.6:
        vehicle.set_plugged(True, now=now, charge_on_plug=config.charge_on_plug)
    return vehicle


def new_vehicle(
    config: SimConfig, user_id: str, *, vendor: str, seed: int, now: datetime, **fields: Any
) -> SimVehicle:
    """One unplugged car at 50 % of `vendor`'s first model; `fields` override attributes."""
    profile = config.vendor(vendor) or config.vendors[0]
    rng = random.Random(seed)  # noqa: S311
    values: dict[str, Any] = {
        "id": seeded_uuid(rng),
        "user_id": user_id,
        "vendor": vendor,
        "model": profile.models[0],
        "year": 2023,
        "capacity_kwh": profile.capacity_kwh[0],
        "max_charge_kw": profile.max_charge_kw[-1],
        "efficiency": profile.efficiency,
        "charge_limit_percent": 80.0,
        "soc_percent": 50.0,
        "plugged_in": False,
        "charging": False,
        "reasons": ["NOT_PLUGGED_IN"],
        "updated_at": now,
        "latitude": _BASE_LAT,
        "longitude": _BASE_LON,
        "odometer_km": 10_000.0,
    }
    values.update(fields)
    return SimVehicle(**values)


def new_charger(
    user_id: str, *, vendor: str, seed: int, now: datetime, **fields: Any
) -> SimCharger:
    """One 11 kW charger with nothing plugged in; `fields` override attributes."""
    rng = random.Random(seed)  # noqa: S311
    values: dict[str, Any] = {
        "id": seeded_uuid(rng),
        "user_id": user_id,
        "vendor": vendor,
        "model": "Home",
        "year": 2022,
        "max_charge_kw": 11.0,
        "updated_at": now,
    }
    values.update(fields)
    return SimCharger(**values)
