"""One simulated car: battery physics integrated lazily from the sim clock.

Nothing ticks in the background. Every read calls `advance(now)`, which applies the commands
whose delay has passed and integrates charging in between, so accelerated or fake time costs
nothing while nobody is looking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from enode_scheduler.sim.power import ChargeSpan, extend

Action = Literal["START", "STOP"]
KM_PER_KWH = 6.0
_FULL_TOLERANCE_PERCENT = 1e-6
# Reasons smart charging leaves alone: a manual command rules the cycle, a full car is done.
_MANUAL_OR_DONE = ("MANUALLY_STARTED", "MANUALLY_STOPPED", "FULLY_CHARGED", "NOT_PLUGGED_IN")


@dataclass
class PendingCommand:
    effective_at: datetime
    action: Action


@dataclass
class SimVehicle:
    """State of one car; percentages are of `capacity_kwh`, rates in kW at the plug."""

    id: str
    user_id: str
    vendor: str
    model: str
    year: int
    capacity_kwh: float
    max_charge_kw: float
    efficiency: float
    charge_limit_percent: float
    soc_percent: float
    plugged_in: bool
    charging: bool
    reasons: list[str]
    updated_at: datetime
    latitude: float
    longitude: float
    odometer_km: float
    charging_location_id: str | None = None
    # False: the vendor reports neither a position nor a charging location (some makes do not).
    reports_location: bool = True
    reachable: bool = True
    smart_enabled: bool = False
    smart_deadline: str | None = None
    pending: list[PendingCommand] = field(default_factory=list)
    watch_count: int = 0
    # When the car last reported; frozen while it is unreachable.
    last_seen: datetime | None = None
    # Where and at what power it charged, over sim time (`/_sim/locations/{id}/power`).
    charged: list[ChargeSpan] = field(default_factory=list)

    def advance(self, now: datetime) -> None:
        """Bring the state up to `now`: due commands in order, charging in between."""
        due = sorted(
            (c for c in self.pending if c.effective_at <= now), key=lambda c: c.effective_at
        )
        self.pending = [c for c in self.pending if c.effective_at > now]
        for command in due:
            self._integrate(command.effective_at)
            self._apply(command.action)
        self._integrate(now)
        if self.reachable or self.last_seen is None:
            self.last_seen = now

    def command(self, action: Action, *, now: datetime, delay_s: float) -> None:
        """Queue START or STOP; the car acts on it `delay_s` later."""
        self.advance(now)
        self.pending.append(PendingCommand(now + timedelta(seconds=delay_s), action))
        if delay_s <= 0:
            self.advance(now)

    def set_plugged(self, plugged: bool, *, now: datetime, charge_on_plug: bool) -> None:
        self.advance(now)
        self.plugged_in = plugged
        if not plugged:
            self._idle(["NOT_PLUGGED_IN"])
        elif self.smart_enabled:
            self._idle(["SMART_CHARGING_DELAY"])
        elif charge_on_plug and self.soc_percent < self.charge_limit_percent:
            self.charging, self.reasons = True, ["DEFAULT"]
        else:
            self._idle(self._rest_reasons(["DEFAULT"]))

    def set_smart_charging(
        self, *, enabled: bool | None, deadline: str | None, now: datetime
    ) -> None:
        """Enode's own smart charging: it holds a plugged-in car until it must start to be full
        by `deadline` (HH:MM UTC). A manual command overrides it for the cycle, as in Enode."""
        self.advance(now)
        if enabled is not None:
            self.smart_enabled = enabled
        if deadline is not None:
            self.smart_deadline = deadline
        if not self.plugged_in or self.reasons[0] in _MANUAL_OR_DONE:
            return
        if self.smart_enabled:
            self._idle(["SMART_CHARGING_DELAY"])
        else:
            self.reasons = ["DEFAULT"]

    def set_soc(self, soc_percent: float, *, now: datetime) -> None:
        self.advance(now)
        self.soc_percent = max(0.0, min(100.0, soc_percent))
        if self.charging and self.soc_percent >= self.charge_limit_percent:
            self._idle(["FULLY_CHARGED"])

    def set_charge_limit(self, limit_percent: float, *, now: datetime) -> None:
        self.advance(now)
        self.charge_limit_percent = max(0.0, min(100.0, limit_percent))
        if self.charging and self.soc_percent >= self.charge_limit_percent:
            self._idle(["FULLY_CHARGED"])

    @property
    def charge_rate_kw(self) -> float | None:
        return self.max_charge_kw if self.charging else None

    def charge_time_remaining_min(self) -> float | None:
        if not self.charging:
            return None
        missing_kwh = (self.charge_limit_percent - self.soc_percent) / 100 * self.capacity_kwh
        return round(max(0.0, missing_kwh) / (self.max_charge_kw * self.efficiency) * 60, 1)

    def charge_state(self) -> dict[str, Any]:
        """The ChargeState object of the spec."""
        return {
            "batteryLevel": round(self.soc_percent, 2),
            "range": round(self.soc_percent / 100 * self.capacity_kwh * KM_PER_KWH, 1),
            "isPluggedIn": self.plugged_in,
            "isCharging": self.charging,
            "chargeRate": self.charge_rate_kw,
            "chargeTimeRemaining": self.charge_time_remaining_min(),
            "batteryCapacity": self.capacity_kwh,
            "chargeLimit": self.charge_limit_percent,
            "isChargingReasons": list(self.reasons),
        }

    def _apply(self, action: Action) -> None:
        if not self.plugged_in:
            self._idle(["NOT_PLUGGED_IN"])
        elif action == "STOP":
            self._idle(["MANUALLY_STOPPED"])
        elif self.soc_percent >= self.charge_limit_percent:
            self._idle(["FULLY_CHARGED"])
        else:
            self.charging, self.reasons = True, ["MANUALLY_STARTED"]

    def _integrate(self, until: datetime) -> None:
        start = self._smart_start()
        if start is not None and start < until:
            late = start <= self.updated_at
            self._integrate_span(start)
            self.charging = True
            self.reasons = ["SMART_CHARGING_DEADLINE" if late else "SMART_CHARGING_ACTIVE"]
        self._integrate_span(until)

    def _smart_start(self) -> datetime | None:
        """When smart charging must start to be full by the deadline; None when not waiting."""
        waiting = self.reasons == ["SMART_CHARGING_DELAY"] and self.plugged_in
        if not (waiting and self.smart_enabled and self.smart_deadline):
            return None
        hour, minute = (int(part) for part in self.smart_deadline.split(":"))
        deadline = self.updated_at.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if deadline <= self.updated_at:
            deadline += timedelta(days=1)
        missing_kwh = max(0.0, self.charge_limit_percent - self.soc_percent) / 100
        hours = missing_kwh * self.capacity_kwh / (self.max_charge_kw * self.efficiency)
        return deadline - timedelta(hours=hours)

    def _integrate_span(self, until: datetime) -> None:
        if until <= self.updated_at:
            return
        if self.charging and self.plugged_in:
            hours = (until - self.updated_at).total_seconds() / 3600
            gained = self.max_charge_kw * self.efficiency * hours / self.capacity_kwh * 100
            room = max(0.0, self.charge_limit_percent - self.soc_percent)
            # Full before `until`: the load ends there, not at the next read.
            full_at = (
                until
                if gained <= room
                else self.updated_at + (until - self.updated_at) * (room / gained)
            )
            extend(
                self.charged,
                ChargeSpan(self.updated_at, full_at, self.max_charge_kw, self.charging_location_id),
            )
            self.soc_percent = min(self.charge_limit_percent, self.soc_percent + gained)
            # Float and microsecond rounding must not leave a car a hair below its limit.
            if self.soc_percent >= self.charge_limit_percent - _FULL_TOLERANCE_PERCENT:
                self.soc_percent = max(self.soc_percent, self.charge_limit_percent)
                self._idle(["FULLY_CHARGED"])
        self.updated_at = until

    def _idle(self, reasons: list[str]) -> None:
        self.charging, self.reasons = False, reasons

    def _rest_reasons(self, otherwise: list[str]) -> list[str]:
        return ["FULLY_CHARGED"] if self.soc_percent >= self.charge_limit_percent else otherwise
