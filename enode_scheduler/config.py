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
    client_id: str | None = Field(
        default=None,
        description="OAuth client ID of your Enode client (Enode developer dashboard).",
    )
    client_secret: SecretStr | None = Field(
        default=None, description="OAuth client secret of your Enode client."
    )
    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.test.enode.io"),
        description=(
            "Base URL of the Enode API v1.4; the production host comes with your production "
            "credentials from Enode."
        ),
    )
    token_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://link.test.enode.io/oauth2/token"),
        description="OAuth token endpoint for the client-credentials grant.",
    )
    authorize_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://link.test.enode.io/oauth2/auth"),
        description="OAuth authorization endpoint where users link their vehicles.",
    )
    redirect_uri: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8765/oauth/callback"),
        description=(
            "Where Enode sends a user back after linking; must be registered with your Enode "
            "client."
        ),
    )
    scopes: tuple[str, ...] = Field(
        default=("offline_access", "all"),
        description="OAuth scopes requested when a user links a vehicle.",
    )
    connect_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a TCP/TLS connection to Enode."
    )
    read_timeout_s: float = Field(
        default=20.0, gt=0, description="Seconds to wait for an Enode answer once connected."
    )
    max_requests_per_s: float = Field(
        default=10.0,
        gt=0,
        description="Global pace limit for requests to Enode, over all users and vendors.",
    )
    backoff_base_s: float = Field(
        default=2.0,
        gt=0,
        description=(
            "First wait of the full-jitter exponential backoff after a 429 without Retry-After."
        ),
    )
    backoff_cap_s: float = Field(default=600.0, gt=0, description="Longest wait of that backoff.")
    retry_after_max_s: float = Field(
        default=3600.0, gt=0, description="Upper clamp for a vendor's Retry-After, in seconds."
    )
    get_retries: int = Field(
        default=3,
        ge=0,
        description="Retries of a failed GET; start/stop commands are never retried blindly.",
    )
    link_state_ttl_s: float = Field(
        default=600.0, gt=0, description="Seconds a started link flow (OAuth state) stays valid."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret that signs Enode webhooks; unset means webhooks are not accepted.",
    )


class DatabaseSettings(_Section):
    url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy async URL, e.g. postgresql+asyncpg://user:password@host/db; unset means "
            "the SQLite file enode-scheduler.db in state_dir."
        ),
    )
    auto_migrate: bool = Field(
        default=False,
        description=(
            "Upgrade the schema to the current revision when the daemon starts, instead of "
            "refusing to start until `enode-scheduler db upgrade` ran."
        ),
    )
    token_keys: tuple[SecretStr, ...] = Field(
        default=(),
        description=(
            "Fernet keys that encrypt stored user tokens; the first encrypts, all decrypt "
            "(rotation). Empty: a key is generated in state_dir/token.key."
        ),
    )
    pool_size: int = Field(default=5, ge=1, description="Connections kept open to PostgreSQL.")


class EntsoeSettings(_Section):
    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://web-api.tp.entsoe.eu/api"),
        description="ENTSO-E Transparency Platform API endpoint.",
    )
    security_token: SecretStr | None = Field(
        default=None,
        description="ENTSO-E API security token (needed when prices.source is entsoe).",
    )


class NordpoolSettings(_Section):
    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://dataportal-api.nordpoolgroup.com/api/DayAheadPrices"),
        description="Nord Pool day-ahead prices endpoint.",
    )
    currency: str = Field(default="EUR", description="Currency of Nord Pool prices.")


class FilePricesSettings(_Section):
    path: Path | None = Field(
        default=None,
        description=(
            "CSV or JSON price file; unset means the price data shipped with the "
            "package (used by the demo)."
        ),
    )


class TimeOfUseFee(_Section):
    """A grid fee per kWh that applies on some weekdays between two local times."""

    name: str = Field(description="Name of the fee, shown in explanations.")
    price_per_kwh: float = Field(description="Fee per kWh, in the price currency.")
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = Field(
        default=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        description="Weekdays on which the fee applies.",
    )
    start: time = Field(
        default=time(0, 0),
        description="Local start time (tariff.timezone) from which the fee applies.",
    )
    end: time = Field(
        default=time(0, 0), description="Local end time; equal to start means all day."
    )


class TariffSettings(_Section):
    supplier_markup_per_kwh: float = Field(
        default=0.0, description="Supplier markup added to every slot's spot price, per kWh."
    )
    vat: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="VAT as a fraction (0.25 for 25 %), applied to price, markup and fees.",
    )
    grid_fees: tuple[TimeOfUseFee, ...] = Field(
        default=(),
        description=(
            "Time-of-use grid fees, checked in order; the first whose days and times match a "
            "slot's start wins."
        ),
    )
    timezone: str = Field(
        default="Europe/Oslo",
        description="IANA time zone in which grid fee days and times are read.",
    )


class PricesSettings(_Section):
    source: Literal["entsoe", "nordpool", "file", "fixed"] = Field(
        default="file", description="Where day-ahead prices come from."
    )
    zone: str = Field(default="NO2", description="Bidding zone, e.g. NO2, SE3, DE-LU.")
    publication_time: time = Field(
        default=time(13, 0),
        description="Local time after which the next day's prices are expected.",
    )
    publication_timezone: str = Field(
        default="Europe/Brussels", description="IANA time zone of publication_time."
    )
    retry_interval_s: float = Field(
        default=600.0,
        gt=0,
        description="Seconds between fetch attempts while the next day's prices are missing.",
    )
    entsoe: EntsoeSettings = Field(default=EntsoeSettings(), description="ENTSO-E source settings.")
    nordpool: NordpoolSettings = Field(
        default=NordpoolSettings(), description="Nord Pool source settings."
    )
    file: FilePricesSettings = Field(
        default=FilePricesSettings(), description="File source settings."
    )
    tariff: TariffSettings = Field(
        default=TariffSettings(), description="What a household pays on top of the spot price."
    )


class SchedulerSettings(_Section):
    poll_plugged_s: float = Field(
        default=300.0,
        gt=0,
        description=(
            "Seconds between vehicle polls while plugged in and away from a planned start or stop."
        ),
    )
    poll_unplugged_s: float = Field(
        default=3600.0, gt=0, description="Seconds between vehicle polls while unplugged."
    )
    poll_near_boundary_s: float = Field(
        default=60.0, gt=0, description="Seconds between polls close to a planned start or stop."
    )
    near_boundary_s: float = Field(
        default=600.0,
        ge=0,
        description="How close (seconds) to a planned start or stop the fast poll applies.",
    )
    verify_delay_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds after a start/stop command before the state is re-read to verify it.",
    )
    command_max_attempts: int = Field(
        default=3,
        ge=1,
        description="Attempts of a start/stop command before the plan is marked failed.",
    )
    safety_tick_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds between reconcile passes even when nothing else happens.",
    )
    deadline_margin_s: float = Field(
        default=900.0,
        ge=0,
        description="Seconds before the deadline by which charging should be done.",
    )
    soc_tolerance_percent: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Deviation of the state of charge from the expected curve (percentage points) that "
            "triggers a replan."
        ),
    )
    lease_ttl_s: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds a leader lease lasts on PostgreSQL; a standby takes over within this time."
        ),
    )
    misfire_grace_s: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds a wake-up may run late before it is skipped (APScheduler misfire grace)."
        ),
    )
    default_charge_kw: float = Field(
        default=7.4,
        gt=0,
        description="Charging power assumed when the vehicle does not report one.",
    )
    default_efficiency: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Charging efficiency assumed when none is known (grid to battery).",
    )
    default_capacity_kwh: float = Field(
        default=60.0,
        gt=0,
        description="Battery capacity assumed when the vehicle does not report one.",
    )


class ApiToken(_Section):
    name: str = Field(description="Name of the token, for logs.")
    scope: Literal["read", "write"] = Field(
        description="read: GET endpoints only; write: also changes plans."
    )
    sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="Hex SHA-256 of the bearer token (the token itself is never stored).",
    )


class ApiSettings(_Section):
    listen: str | None = Field(
        default=None,
        description=(
            "HOST:PORT of the HTTP API (/healthz, /readyz, /metrics, plans, link, webhooks); "
            "unset keeps it off."
        ),
    )
    tokens: tuple[ApiToken, ...] = Field(
        default=(), description="Bearer tokens accepted by the API."
    )
    metrics_require_token: bool = Field(
        default=False, description="Require a read token for /metrics."
    )
    max_body_bytes: int = Field(
        default=65536, gt=0, description="Largest request body the API accepts."
    )


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level that is logged."
    )
    format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: JSON when stderr is not a terminal, console otherwise."
    )


class Settings(_Section):
    state_dir: Path = Field(
        default_factory=_default_state_dir,
        description=(
            "Directory for the SQLite database and the generated token key. Default: "
            "$STATE_DIRECTORY (set by systemd's StateDirectory=), else ~/.local/state/enode-"
            "scheduler."
        ),
    )
    enode: EnodeSettings = Field(default=EnodeSettings(), description="Enode API client.")
    database: DatabaseSettings = Field(
        default=DatabaseSettings(), description="Database and token encryption."
    )
    prices: PricesSettings = Field(
        default=PricesSettings(), description="Day-ahead prices and tariff."
    )
    scheduler: SchedulerSettings = Field(
        default=SchedulerSettings(), description="Polling, commands and planning defaults."
    )
    api: ApiSettings = Field(default=ApiSettings(), description="HTTP API, health and metrics.")
    logging: LoggingSettings = Field(default=LoggingSettings(), description="Log output.")
