"""Settings: one TOML file, then ENODE_SCHEDULER__SECTION__KEY environment overrides.

Components receive their own section model (e.g. `EnodeSettings`), never the whole `Settings`.
Loading, secret files and error reporting are implemented below the models.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _default_state_dir() -> Path:
    # systemd sets STATE_DIRECTORY for StateDirectory=; containers mount /var/lib/enode-scheduler.
    env = os.environ.get("STATE_DIRECTORY")
    if env:
        return Path(env.split(":")[0])
    return Path.home() / ".local" / "state" / "enode-scheduler"


class EnodeSettings(_Section):
    client_id: str | None = None
    client_secret: SecretStr | None = None
    api_url: AnyHttpUrl = AnyHttpUrl("https://api.test.enode.io")
    token_url: AnyHttpUrl = AnyHttpUrl("https://link.test.enode.io/oauth2/token")
    authorize_url: AnyHttpUrl = AnyHttpUrl("https://link.test.enode.io/oauth2/auth")
    redirect_uri: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8765/oauth/callback")
    scopes: tuple[str, ...] = ("offline_access", "all")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=20.0, gt=0)
    # Global pace limit over all users and vendors.
    max_requests_per_s: float = Field(default=10.0, gt=0)
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_cap_s: float = Field(default=600.0, gt=0)
    retry_after_max_s: float = Field(default=3600.0, gt=0)
    get_retries: int = Field(default=3, ge=0)
    link_state_ttl_s: float = Field(default=600.0, gt=0)
    webhook_secret: SecretStr | None = None


class DatabaseSettings(_Section):
    # None means a SQLite file `enode-scheduler.db` in `state_dir`.
    url: str | None = None
    auto_migrate: bool = False
    # Fernet keys; the first encrypts, all decrypt. Empty: a key generated in state_dir/token.key.
    token_keys: tuple[SecretStr, ...] = ()
    pool_size: int = Field(default=5, ge=1)


class EntsoeSettings(_Section):
    api_url: AnyHttpUrl = AnyHttpUrl("https://web-api.tp.entsoe.eu/api")
    security_token: SecretStr | None = None


class NordpoolSettings(_Section):
    api_url: AnyHttpUrl = AnyHttpUrl("https://dataportal-api.nordpoolgroup.com/api/DayAheadPrices")
    currency: str = "EUR"


class FilePricesSettings(_Section):
    # None means the price data shipped with the package (used by the demo).
    path: Path | None = None


class TimeOfUseFee(_Section):
    """A grid fee per kWh that applies on some weekdays between two local times."""

    name: str
    price_per_kwh: float
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    )
    start: time = time(0, 0)
    end: time = time(0, 0)


class TariffSettings(_Section):
    supplier_markup_per_kwh: float = 0.0
    vat: float = Field(default=0.0, ge=0, le=1)
    # Applied in order; the first fee whose days and times match a slot's start wins.
    grid_fees: tuple[TimeOfUseFee, ...] = ()
    timezone: str = "Europe/Oslo"


class PricesSettings(_Section):
    source: Literal["entsoe", "nordpool", "file", "fixed"] = "file"
    zone: str = "NO2"
    publication_time: time = time(13, 0)
    publication_timezone: str = "Europe/Brussels"
    retry_interval_s: float = Field(default=600.0, gt=0)
    entsoe: EntsoeSettings = EntsoeSettings()
    nordpool: NordpoolSettings = NordpoolSettings()
    file: FilePricesSettings = FilePricesSettings()
    tariff: TariffSettings = TariffSettings()


class SchedulerSettings(_Section):
    poll_plugged_s: float = Field(default=300.0, gt=0)
    poll_unplugged_s: float = Field(default=3600.0, gt=0)
    poll_near_boundary_s: float = Field(default=60.0, gt=0)
    near_boundary_s: float = Field(default=600.0, ge=0)
    verify_delay_s: float = Field(default=60.0, gt=0)
    command_max_attempts: int = Field(default=3, ge=1)
    safety_tick_s: float = Field(default=60.0, gt=0)
    deadline_margin_s: float = Field(default=900.0, ge=0)
    soc_tolerance_percent: float = Field(default=5.0, gt=0)
    lease_ttl_s: float = Field(default=30.0, gt=0)
    misfire_grace_s: float = Field(default=30.0, gt=0)
    default_charge_kw: float = Field(default=7.4, gt=0)
    default_efficiency: float = Field(default=0.9, gt=0, le=1)
    default_capacity_kwh: float = Field(default=60.0, gt=0)


class ApiToken(_Section):
    name: str
    scope: Literal["read", "write"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ApiSettings(_Section):
    # "HOST:PORT"; None keeps the HTTP API off.
    listen: str | None = None
    tokens: tuple[ApiToken, ...] = ()
    metrics_require_token: bool = False
    max_body_bytes: int = Field(default=65536, gt=0)
    # Firehose deliveries batch many events, so they get a larger cap.
    webhook_max_body_bytes: int = Field(default=1_048_576, gt=0)


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(_Section):
    state_dir: Path = Field(default_factory=_default_state_dir)
    enode: EnodeSettings = EnodeSettings()
    database: DatabaseSettings = DatabaseSettings()
    prices: PricesSettings = PricesSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    api: ApiSettings = ApiSettings()
    logging: LoggingSettings = LoggingSettings()
