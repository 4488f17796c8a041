"""Settings of the fake Enode server: fleet size, vendors, token lifetimes."""

from __future__ import annotations

from dataclasses import dataclass, field

# The vendor enum of the Enode v1.4 spec; `information.brand` carries the same value.
SPEC_VENDORS = ("TESLA", "BMW", "AUDI", "VOLKSWAGEN", "HYUNDAI", "PEUGEOT", "NISSAN")


@dataclass(frozen=True)
class VendorProfile:
    """How one car maker's cloud behaves: command latency and the cars it sells."""

    vendor: str
    display_name: str
    command_delay_s: float
    models: tuple[str, ...]
    capacity_kwh: tuple[float, ...]
    max_charge_kw: tuple[float, ...]
    efficiency: float


DEFAULT_VENDORS: tuple[VendorProfile, ...] = (
    VendorProfile("TESLA", "Tesla", 5.0, ("Model 3", "Model Y"), (57.5, 75.0), (11.0,), 0.92),
    VendorProfile("VOLKSWAGEN", "Volkswagen", 30.0, ("ID.3", "ID.4"), (58.0, 77.0), (11.0,), 0.9),
    VendorProfile("BMW", "BMW", 20.0, ("i3", "iX3"), (42.2, 80.0), (7.4, 11.0), 0.89),
    VendorProfile("NISSAN", "Nissan", 60.0, ("Leaf",), (40.0, 62.0), (3.7, 6.6), 0.88),
    VendorProfile("HYUNDAI", "Hyundai", 15.0, ("Kona", "Ioniq 5"), (64.0, 77.4), (7.2, 11.0), 0.9),
)


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes one sim run; the same config and seed give the same fleet.

    `command_delay_s` overrides every vendor's own delay when set (tests use 0 or a round
    number). Token and code lifetimes are in sim-clock seconds.
    """

    vehicles: int = 3
    users: int = 1
    seed: int = 0
    host: str = "127.0.0.1"
    port: int = 0
    client_id: str = "sim-client"
    client_secret: str = "sim-secret"  # noqa: S105 (a fake server's well-known default)
    vendors: tuple[VendorProfile, ...] = DEFAULT_VENDORS
    command_delay_s: float | None = None
    access_token_ttl_s: float = 3600.0
    client_token_ttl_s: float = 3600.0
    auth_code_ttl_s: float = 600.0
    link_state_ttl_s: float = 1800.0
    rotate_refresh_tokens: bool = True
    # A plugged-in car nobody controls charges on its own, as real cars do.
    charge_on_plug: bool = True
    # One vehicle in `smart_charging_every` starts with Enode smart charging enabled (0: none).
    smart_charging_every: int = 5
    request_log_size: int = 10_000
    # Response bodies in the request log; a fleet benchmark reading the log keeps only metadata.
    log_response_bodies: bool = True
    # Cars a user who had none gets on completing the link flow (demo users link themselves).
    vehicles_on_link: int = 0
    user_ids: tuple[str, ...] = field(default=())

    def user_id_list(self) -> list[str]:
        """The seeded user ids: `user_ids` when given, else user-1 .. user-N."""
        if self.user_ids:
            return list(self.user_ids)
        return [f"user-{i}" for i in range(1, self.users + 1)]

    def vendor(self, name: str) -> VendorProfile | None:
        return next((p for p in self.vendors if p.vendor == name), None)

    def command_delay_for(self, vendor: str) -> float:
        if self.command_delay_s is not None:
            return self.command_delay_s
        profile = self.vendor(vendor)
        return profile.command_delay_s if profile else 0.0
