"""One simulated charger (wallbox), optionally with a simulated car plugged into it.

Like the cars, it is brought up to `now` lazily by `advance`. With a car plugged in, the
charger switches the car's charging on and off and counts the energy the car took; without
one, an anonymous car behind a plugged-in cable draws `max_charge_kw` whenever power flows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from enode_scheduler.sim.vehicle import Action, PendingCommand, SimVehicle


@dataclass
class SimCharger:
    """State of one charger; `delivered_kwh` is hidden (the spec has no energy counter)."""

    id: str
    user_id: str
    vendor: str
    model: str
    year: int
    max_charge_kw: float
    updated_at: datetime
    # A cable with an anonymous car on it (ignored while `vehicle_id` names a simulated car).
    plugged_in: bool = False
    vehicle_id: str | None = None
    # Power may flow (a wallbox lets a plugged car charge until told to stop).
    enabled: bool = True
    reachable: bool = True
    delivered_kwh: float = 0.0
    pending: list[PendingCommand] = field(default_factory=list)
    last_seen: datetime | None = None
    # The plugged car's SoC when its energy was last counted (the car may be advanced by its
    # own reads in between).
    counted_soc_percent: float | None = None

    def advance(self, now: datetime, car: SimVehicle | None) -> None:
        """Bring the state (and the plugged car's) up to `now`: due commands in order."""
        due = sorted(
            (c for c in self.pending if c.effective_at <= now), key=lambda c: c.effective_at
        )
        self.pending = [c for c in self.pending if c.effective_at > now]
        for command in due:
            self._integrate(command.effective_at, car)
            self._apply(command.action, car)
        self._integrate(now, car)
        if self.reachable or self.last_seen is None:
            self.last_seen = now

    def command(
        self, action: Action, *, now: datetime, delay_s: float, car: SimVehicle | None
    ) -> None:
        """Queue START or STOP; the charger acts on it `delay_s` later."""
        self.advance(now, car)
        self.pending.append(PendingCommand(now + timedelta(seconds=delay_s), action))
        if delay_s <= 0:
            self.advance(now, car)

    def is_plugged(self, car: SimVehicle | None) -> bool:
        return car.plugged_in if car is not None else self.plugged_in

    def is_charging(self, car: SimVehicle | None) -> bool:
        if car is not None:
            return car.charging and car.plugged_in
        return self.enabled and self.plugged_in

    def charge_rate_kw(self, car: SimVehicle | None) -> float | None:
        if not self.is_charging(car):
            return None
        return car.max_charge_kw if car else self.max_charge_kw

    def charge_state(self, car: SimVehicle | None) -> dict[str, Any]:
        """The Charger chargeState object of the spec."""
        return {
            "isPluggedIn": self.is_plugged(car),
            "isCharging": self.is_charging(car),
            "chargeRate": self.charge_rate_kw(car),
        }

    def _apply(self, action: Action, car: SimVehicle | None) -> None:
        self.enabled = action == "START"
        if car is None or not car.plugged_in:
            return
        if self.enabled and car.soc_percent < car.charge_limit_percent:
            car.charging, car.reasons = True, ["MANUALLY_STARTED"]
        elif not self.enabled:
            car.charging, car.reasons = False, ["MANUALLY_STOPPED"]

    def _integrate(self, until: datetime, car: SimVehicle | None) -> None:
        if until <= self.updated_at:
            return
        if car is not None:
            car.advance(until)
            before = self.counted_soc_percent
            if before is not None and car.soc_percent > before:
                gained = car.soc_percent - before
                self.delivered_kwh += gained / 100 * car.capacity_kwh / car.efficiency
            self.counted_soc_percent = car.soc_percent
        elif self.enabled and self.plugged_in:
            hours = (until - self.updated_at).total_seconds() / 3600
            self.delivered_kwh += self.max_charge_kw * hours
        self.updated_at = until
