"""Settings: the model tree, and `load_settings`, which fills it from files and the environment.

Components receive their own section model (e.g. `EnodeSettings`), never the whole `Settings`.
`Settings(...)` is built from its arguments alone (the demo and tests do that); `load_settings`
adds the sources below, through pydantic-settings (`config.sources`).

Precedence, lowest first (a later source replaces a key set by an earlier one):

1. built-in defaults (the models below);
2. the TOML file: a key, or for a secret `<key>_file = "path"` (relative to the file);
3. secret files named `<section>.<key>` (e.g. `enode.client_secret`, `database.token_keys`)
   in /run/secrets (Docker secrets), then in $CREDENTIALS_DIRECTORY (systemd credentials);
4. environment variables ENODE_SCHEDULER__SECTION__KEY (e.g.
   ENODE_SCHEDULER__PRICES__ENTSOE__SECURITY_TOKEN), or ..._FILE for a secret's path.

Within one source, giving both `<key>` and `<key>_file` is an error. Lists in the environment are
JSON (`["a", "b"]`) or comma-separated; a list in a secret file is one item per line.
"""

from __future__ import annotations

import base64
import ipaddress
import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from enode_scheduler.config.problems import problem_lines
from enode_scheduler.config.sources import Trace, layered_sources, mentions_secret
from enode_scheduler.exceptions import ConfigError
from enode_scheduler.zones import ZONES


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _not_empty_or_negative(cls, value: Any, info: ValidationInfo) -> Any:
        # Checked on the raw value, before a type or bound check could give a vaguer message
        # ("must be greater than 0" for a negative duration).
        name = info.field_name or ""
        secret = mentions_secret(cls.model_fields[name].annotation)
        # `max_requests_per_s` is a rate, not a duration.
        duration = name.endswith("_s") and not name.endswith("_per_s")
        if value == "" and (secret or name.endswith("_id")):
            raise ValueError("must not be empty")
        if secret and isinstance(value, list | tuple) and "" in value:
            raise ValueError("must not contain empty strings")
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if duration and is_number and value < 0:
            raise ValueError("must not be negative (a duration in seconds)")
        if name.endswith("_per_s") and is_number and value <= 0:
            raise ValueError("must be positive (a rate per second)")
        return value


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
        default=AnyHttpUrl("http://127.0.0.1:8766/oauth/callback"),
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
    max_inline_wait_s: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Longest a GET waits inside one call before its retry (after a 429 or a transient "
            "failure); a longer wait raises at once so the daemon polls that car again later "
            "instead of holding up the rest of the fleet."
        ),
    )
    link_state_ttl_s: float = Field(
        default=600.0, gt=0, description="Seconds a started link flow (OAuth state) stays valid."
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Secret that signs Enode webhooks, at least 16 bytes (128 bits); unset means "
            "webhooks are not accepted."
        ),
    )

    @field_validator("webhook_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        # Anyone who reaches the listener may try to forge deliveries: a short secret is guessable.
        if secret is not None and len(secret.get_secret_value().encode()) < 16:
            raise ValueError(
                "shorter than 128 bits (16 bytes); make one with `openssl rand -hex 32`"
            )
        return secret


class DatabaseSettings(_Section):
    url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host/db (keep the password out "
            "of it: PostgreSQL reads it from the file named by $PGPASSFILE); unset means the "
            "SQLite file enode-scheduler.db in state_dir."
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

    @field_validator("url")
    @classmethod
    def _sqlite_or_postgresql(cls, url: str | None) -> str | None:
        if url is None:
            return None
        scheme = url.partition("://")[0].partition("+")[0] if "://" in url else ""
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"not a SQLite or PostgreSQL URL (scheme {scheme or 'missing'!r})")
        return url

    @field_validator("token_keys")
    @classmethod
    def _fernet_keys(cls, keys: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for key in keys:
            try:
                raw = base64.urlsafe_b64decode(key.get_secret_value().encode("ascii"))
            except (ValueError, UnicodeEncodeError):
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    "not a Fernet key (32 url-safe base64 bytes; make one with "
                    "`enode-scheduler db new-key`)"
                )
        return keys


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
    currency: str = Field(
        default="EUR", pattern=r"^[A-Z]{3}$", description="Currency of Nord Pool prices."
    )


class FilePricesSettings(_Section):
    path: Path | None = Field(
        default=None,
        description=(
            "CSV or JSON price file (for the file and replay sources); unset means the real "
            "prices shipped with the package (NO1 and NO2, October 2024/2025)."
        ),
    )


class TimeOfUseFee(_Section):
    """A grid fee per kWh on some weekdays between two local times.

    `start == end` means all day; `start > end` wraps past midnight (22:00-06:00), and then the
    weekday is the one the slot starts on.
    """

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


def _check_timezone(name: str | None) -> str | None:
    if name is not None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
    return name


class TariffSettings(_Section):
    """What a household pays per kWh, in the currency of the price source.

    price = (spot_per_kwh + supplier_markup_per_kwh) * (1 + vat) + grid fee. Grid fees are added
    after VAT: enter them as the grid operator's consumer price, which already includes VAT.
    """

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
    timezone: str | None = Field(
        default=None,
        description=(
            "IANA time zone in which grid fee days and times are read; unset means the price "
            "zone's own time zone."
        ),
    )

    _timezone_known = field_validator("timezone")(_check_timezone)


class PricesSettings(_Section):
    """Where day-ahead prices come from and when to refresh them.

    `fixed` needs no spot source: the spot price is 0 and the tariff alone makes the price.
    """

    source: Literal["entsoe", "nordpool", "file", "replay", "fixed"] = Field(
        default="file",
        description=(
            "Where day-ahead prices come from. file: the days a price file holds; replay: a "
            "price file's days laid onto any date (same weekday and local time), for trying "
            "the daemon out."
        ),
    )
    currency: str = Field(
        default="EUR",
        pattern=r"^[A-Z]{3}$",
        description="Currency of prices, tariff and costs; named wherever money is shown.",
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
    retry_max_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Retries back off exponentially from retry_interval_s up to this many seconds.",
    )
    http_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of one request to the price source, seconds."
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

    _publication_timezone_known = field_validator("publication_timezone")(_check_timezone)

    @field_validator("zone")
    @classmethod
    def _zone_known(cls, value: str) -> str:
        key = value.strip().upper().replace("-", "_")
        if key not in ZONES:
            raise ValueError(f"unknown price zone {value!r}; known: {', '.join(ZONES)}")
        return key


class UkGridSettings(_Section):
    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.carbonintensity.org.uk"),
        description="Carbon Intensity API (Great Britain, NESO) base URL.",
    )
    region_id: int | None = Field(
        default=None,
        ge=1,
        le=17,
        description="Regional forecast for this region id (1-17); unset means all of GB.",
    )


class ElectricityMapsSettings(_Section):
    api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.electricitymaps.com"),
        description="Electricity Maps API base URL (v3).",
    )
    zone: str | None = Field(
        default=None,
        description="Electricity Maps zone, e.g. DE, FR, NO-NO2; unset means the price zone.",
    )
    auth_token: SecretStr | None = Field(
        default=None,
        description="Electricity Maps API token (needed when co2.source is electricitymaps).",
    )


class Co2FileSettings(_Section):
    path: Path | None = Field(
        default=None,
        description=(
            "CSV of start_utc,g_co2_per_kwh (or the _direct/_lca columns of data/co2), "
            "optionally gzipped; needed when co2.source is file."
        ),
    )


class Co2Settings(_Section):
    """Grid carbon intensity, and what it weighs in the plan (docs/planner.md, CO2)."""

    source: Literal["none", "file", "ukgrid", "electricitymaps"] = Field(
        default="none",
        description="Where grid carbon intensity (gCO2eq/kWh) comes from; none disables CO2.",
    )
    price_per_kg: float = Field(
        default=0.0,
        ge=0,
        description=(
            "Money per kg CO2 (price currency): plans minimise energy cost + price_per_kg * kg "
            "CO2. 0 plans on price alone (kg CO2 is still reported)."
        ),
    )
    mode: Literal["price", "co2"] = Field(
        default="price",
        description=(
            "price: money (plus price_per_kg * kg CO2); co2: least CO2 first, price only "
            "breaks ties."
        ),
    )
    emission_factor: Literal["lifecycle", "direct"] = Field(
        default="lifecycle",
        description=(
            "lifecycle (with upstream emissions) or direct (combustion only), for "
            "electricitymaps and two-column files."
        ),
    )
    refresh_interval_s: float = Field(
        default=1800.0,
        ge=60,
        description="Seconds between forecast fetches (a failed fetch waits for the next).",
    )
    horizon_h: float = Field(
        default=48.0, gt=0, le=72, description="Hours of forecast asked for at each fetch."
    )
    http_timeout_s: float = Field(
        default=30.0, gt=0, description="Timeout of one request to the intensity source, seconds."
    )
    file: Co2FileSettings = Field(default=Co2FileSettings(), description="File source settings.")
    ukgrid: UkGridSettings = Field(
        default=UkGridSettings(), description="UK Carbon Intensity API settings."
    )
    electricitymaps: ElectricityMapsSettings = Field(
        default=ElectricityMapsSettings(), description="Electricity Maps API settings."
    )


class SchedulerSettings(_Section):
    timezone: str | None = Field(
        default=None,
        description=(
            "IANA time zone for plans added without --tz, and in which schedules are shown; "
            "unset: the machine's local zone."
        ),
    )
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
            "Seconds a shard lease lasts on PostgreSQL. A replica stops sending for a shard 20 % "
            "of it before it expires; another replica takes the shard over within 4/3 of it."
        ),
    )
    shards: int = Field(
        default=256,
        ge=1,
        le=4096,
        description=(
            "Shards the fleet is split into (by a stable hash of the user id); PostgreSQL "
            "replicas share them by leases, each holding about shards / replicas. Every replica "
            "must use the same value: one that finds a live replica with another refuses to "
            "start (exit 2); stop them all to change it."
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
    charger_assumed_kw: float = Field(
        default=11.0,
        gt=0,
        description=(
            "Power a charger-only plan assumes until its charger reports one: for planning, "
            "and for counting energy while the charger charges without a rate."
        ),
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
    max_controlled_kw: float = Field(
        default=22.0,
        gt=0,
        description=(
            "A car charging faster than this (kW, e.g. at a DC fast charger) is never stopped, "
            "wherever it is."
        ),
    )
    unknown_location: Literal["skip", "act"] = Field(
        default="skip",
        description=(
            "What to do with a planned car whose vendor does not say where it is: skip (leave it "
            "alone, status location_unknown) or act (control it as if at the plan's location)."
        ),
    )
    plans_refresh_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between looks for added, edited or removed plans in the database.",
    )
    stall_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description=(
            "Wall-clock seconds without a completed reconcile step before the daemon exits "
            "with status 3 (and stops sending WATCHDOG=1)."
        ),
    )
    vendor_health_s: float = Field(
        default=300.0,
        gt=0,
        description=(
            "Seconds between reads of Enode's /health/vendors (also read after a burst of "
            "failed requests); a vendor in OUTAGE gets no request until it is READY again."
        ),
    )
    watchdog_grace_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "Wall-clock seconds without a successful reconcile step (for a replica without "
            "shards: a lease check) after which WATCHDOG=1 is withheld, /readyz is not ready and "
            "a replica gives up its shard leases; capped at half of stall_timeout_s."
        ),
    )
    shutdown_grace_s: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Wall seconds in-flight work may take after SIGTERM before it is abandoned.",
    )
    max_concurrent_reads: int = Field(
        default=32, ge=1, description="Vehicle reads the daemon keeps in flight at once."
    )
    max_cars_per_step: int = Field(
        default=256,
        ge=1,
        description=(
            "Most cars one reconcile step handles; the rest follow in the next steps, earliest "
            "due first, so a fleet-wide replan does not hold up a window boundary."
        ),
    )
    max_concurrent_commands: int = Field(
        default=16,
        ge=1,
        description=(
            "Start/stop commands the daemon keeps in flight at once (cars sharing a window "
            "boundary are sent together, not one after another)."
        ),
    )

    _timezone_known = field_validator("timezone")(_check_timezone)


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
            "unset keeps it off. An address other than loopback needs [[api.tokens]]."
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
    webhook_max_body_bytes: int = Field(
        default=1_048_576,
        gt=0,
        description="Largest Enode webhook delivery accepted (deliveries batch many events).",
    )
    max_connections: int = Field(
        default=512,
        ge=1,
        description=(
            "Most connections the API keeps open; more are closed at once. Capped at half of "
            "what the file limit leaves after 256 descriptors kept for the database and Enode."
        ),
    )
    header_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Seconds a client has to send a request's headers (after connecting, or after the "
            "previous response); slower or idle connections are closed."
        ),
    )
    web_refresh_s: float = Field(
        default=10.0,
        ge=2.0,
        description="How often the web page's live parts (fleet, car) fetch themselves again.",
    )


NotifyEventName = Literal[
    "goal_at_risk",
    "goal_missed",
    "command_failed",
    "relink_required",
    "vendor_outage",
    "prices_missing",
    "leader_changed",
    "car_away_with_plan",
]
_DEFAULT_EVENTS: tuple[NotifyEventName, ...] = (
    "goal_at_risk",
    "goal_missed",
    "command_failed",
    "relink_required",
    "vendor_outage",
    "prices_missing",
    "leader_changed",
)


class NotifyTarget(_Section):
    """One `[[notify]]` entry: where to send, and which events."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="Name of the target (for `notify test --target` and logs).",
    )
    url: SecretStr | None = Field(
        default=None,
        description=(
            "Apprise URL (mailto://, ntfy://, tgram://, slack://, matrix://, ...); it holds "
            "credentials, so it is never logged."
        ),
    )
    webhook_url: AnyHttpUrl | None = Field(
        default=None,
        description="A JSON webhook for integrators, signed with `webhook_secret`.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "HMAC-SHA256 key: X-Enode-Scheduler-Signature is sha256=HMAC(key, timestamp + '.' "
            "+ body), timestamp in X-Enode-Scheduler-Timestamp."
        ),
    )
    events: tuple[NotifyEventName, ...] = Field(
        default=_DEFAULT_EVENTS,
        description="Events sent to this target (default: all but car_away_with_plan).",
    )
    max_per_hour: int = Field(
        default=20,
        ge=2,
        description="Messages per hour at most; a burst beyond that is sent as one summary.",
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one delivery.")

    @model_validator(mode="after")
    def _one_kind(self) -> NotifyTarget:
        if (self.url is None) == (self.webhook_url is None):
            raise ValueError("set exactly one of url (Apprise) and webhook_url")
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("webhook_url needs webhook_secret (deliveries are signed)")
        return self


class LoggingSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Lowest level that is logged."
    )
    format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: JSON when stderr is not a terminal, console otherwise."
    )


class ClockSettings(_Section):
    """The clock the daemon and the commands read: real time, or a faster one for a trial run.

    `enode-scheduler sim --write-config` fills it in with the fake Enode's own clock, so the
    daemon, `plans add --by` and the sim agree on the time. `run --speed/--start/--anchor-unix`
    override it.
    """

    speed: float = Field(
        default=1.0,
        gt=0,
        description=(
            "Clock seconds per real second; 1 is real time, 600 runs ten minutes per second "
            "(for trying the daemon against the fake Enode, never with a real car)."
        ),
    )
    start: datetime | None = Field(
        default=None,
        description=(
            "Time the clock reads at anchor_unix (ISO 8601, UTC if no offset); unset: the wall "
            "clock's time at anchor_unix."
        ),
    )
    anchor_unix: float | None = Field(
        default=None,
        description=(
            "Unix time (wall clock) at which the clock reads `start`; unset: when the command "
            "starts."
        ),
    )

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def real_time(self) -> bool:
        return self.speed == 1.0 and self.start is None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", frozen=True, case_sensitive=True)

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
    co2: Co2Settings = Field(
        default=Co2Settings(), description="Grid carbon intensity and its weight in plans."
    )
    scheduler: SchedulerSettings = Field(
        default=SchedulerSettings(), description="Polling, commands and planning defaults."
    )
    api: ApiSettings = Field(default=ApiSettings(), description="HTTP API, health and metrics.")
    logging: LoggingSettings = Field(default=LoggingSettings(), description="Log output.")
    clock: ClockSettings = Field(
        default=ClockSettings(),
        description="Real time, or the fake Enode's accelerated clock for a trial run.",
    )
    notify: tuple[NotifyTarget, ...] = Field(
        default=(), description="Notification targets (`[[notify]]`), each with its events."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        load = _LOADING.get()
        if load is None:
            return (init_settings,)
        layers = layered_sources(
            settings_cls,
            load.trace,
            path=load.path,
            environ=load.environ,
            secret_dirs=load.secret_dirs,
        )
        return (init_settings, *reversed(layers))


RUN_SECRETS_DIR = Path("/run/secrets")
DEFAULTS_LABEL = "defaults"


@dataclass(frozen=True)
class _Load:
    path: Path | None
    environ: Mapping[str, str]
    secret_dirs: list[Path]
    trace: Trace


# settings_customise_sources is a classmethod called from Settings(); the one load in progress
# tells it which file, environment and directories to read. Unset, Settings(...) reads nothing.
_LOADING: ContextVar[_Load | None] = ContextVar("enode_scheduler_settings_load", default=None)


def load_settings(
    path: Path | None,
    *,
    environ: Mapping[str, str] = os.environ,
    run_secrets_dir: Path = RUN_SECRETS_DIR,
) -> Settings:
    """Defaults, the TOML file at `path`, secret files and the environment, in that order.

    Raises ConfigError with one line per problem: `<source>: <section.key>: <what is wrong>`.
    """
    secret_dirs = [run_secrets_dir]
    if environ.get("CREDENTIALS_DIRECTORY"):
        secret_dirs.append(Path(environ["CREDENTIALS_DIRECTORY"]))
    trace = Trace()
    label = str(path) if path is not None else DEFAULTS_LABEL
    token = _LOADING.set(_Load(path, environ, secret_dirs, trace))
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(
            problem_lines(
                trace, errors=exc.errors(), default_label=label, known_keys=_keys_of_section
            )
        ) from None
    except SettingsError as exc:  # a source failed in a way none of ours anticipated
        raise ConfigError([*trace.problem_lines(), f"{label}: {exc}"]) from None
    finally:
        _LOADING.reset(token)
    problems = problem_lines(trace, checks=_cross_checks(settings), default_label=label)
    if problems:
        raise ConfigError(problems)
    return settings


def _keys_of_section(dotted: str) -> list[str]:
    """The keys the section at `dotted` ("" for the top level) accepts."""
    model: Any = Settings
    for part in [p for p in dotted.split(".") if p]:
        field = model.model_fields.get(part)
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _cross_checks(settings: Settings) -> list[tuple[str, str]]:
    """Rules that span keys; a per-key rule belongs on the section model instead."""
    problems = []
    enode = settings.enode
    if enode.client_id is not None and enode.client_secret is None:
        problems.append(("enode.client_secret", "required when enode.client_id is set"))
    if enode.client_secret is not None and enode.client_id is None:
        problems.append(("enode.client_id", "required when enode.client_secret is set"))
    prices = settings.prices
    if prices.source == "entsoe" and prices.entsoe.security_token is None:
        problems.append(("prices.entsoe.security_token", 'required when prices.source = "entsoe"'))
    problems += _co2_checks(settings.co2)
    api = settings.api
    if api.listen is not None and not api.tokens and not is_loopback(api.listen):
        # Every /v1 route would be open to whoever reaches the address (or, as now, closed to
        # all): a public listener is only for a daemon whose API is meant to be used.
        problems.append(
            (
                "api.listen",
                f"{api.listen!r} is not a loopback address: add [[api.tokens]] first, or listen "
                "on 127.0.0.1 (a reverse proxy in front reaches it there)",
            )
        )
    return problems


def is_loopback(listen: str) -> bool:
    """Whether `HOST:PORT` binds to this host only: 127.0.0.0/8, ::1 or localhost. A wildcard
    (0.0.0.0, ::) or any other name or address may be reachable from elsewhere."""
    host = listen.rpartition(":")[0].strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _co2_checks(co2: Co2Settings) -> list[tuple[str, str]]:
    problems = []
    if co2.source == "electricitymaps" and co2.electricitymaps.auth_token is None:
        problems.append(
            ("co2.electricitymaps.auth_token", 'required when co2.source = "electricitymaps"')
        )
    if co2.source == "file" and co2.file.path is None:
        problems.append(("co2.file.path", 'required when co2.source = "file"'))
    if co2.source == "none" and (co2.mode == "co2" or co2.price_per_kg > 0):
        problems.append(("co2.source", "required when co2.mode or co2.price_per_kg is set"))
    return problems
