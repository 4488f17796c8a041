"""Settings: one TOML file, then ENODE_SCHEDULER__SECTION__KEY environment overrides.

Components receive their own section model (e.g. `EnodeSettings`), never the whole `Settings`.
Loading, secret files and error reporting are implemented below the models (`load_settings`).

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
import os
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from enode_scheduler.config_sources import (
    FILE_SUFFIX,
    RawConfig,
    field_type,
    flatten,
    read_env,
    read_secret_file,
    read_toml,
    secret_keys,
)
from enode_scheduler.exceptions import ConfigError


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


RUN_SECRETS_DIR = Path("/run/secrets")
DEFAULTS_LABEL = "defaults"


def load_settings(
    path: Path | None,
    *,
    environ: Mapping[str, str] = os.environ,
    run_secrets_dir: Path = RUN_SECRETS_DIR,
) -> Settings:
    """Defaults, the TOML file at `path`, secret files and the environment, in that order.

    Raises ConfigError with one line per problem: `<source>: <section.key>: <what is wrong>`.
    """
    secrets = set(secret_keys(Settings))
    toml = RawConfig()
    if path is not None:
        read_toml(path, toml)
        if toml.problems:
            raise ConfigError(toml.problems)
        _resolve_file_keys(toml, secrets, base_dir=path.parent)
    env = RawConfig()
    read_env(environ, Settings, env)
    _resolve_file_keys(env, secrets, base_dir=Path.cwd())
    layers = [toml, _secret_dirs(secrets, environ, run_secrets_dir), env]
    merged = _merge(layers)
    if "state_dir" not in merged.data and environ.get("STATE_DIRECTORY"):
        merged.set("state_dir", environ["STATE_DIRECTORY"].split(":")[0], origin="$STATE_DIRECTORY")
    default_label = str(path) if path is not None else DEFAULTS_LABEL
    return _validate(merged, secrets, default_label=default_label)


def _merge(layers: list[RawConfig]) -> RawConfig:
    merged = RawConfig()
    for layer in layers:
        merged.problems.extend(layer.problems)
        for dotted, value in flatten(layer.data):
            merged.set(dotted, value, origin=layer.origin_of(dotted, DEFAULTS_LABEL))
    return merged


def _resolve_file_keys(raw: RawConfig, secrets: set[str], *, base_dir: Path) -> None:
    """Replace `<secret>_file = path` by the file's content, within one source."""
    for dotted, value in list(flatten(raw.data)):
        key = dotted.removesuffix(FILE_SUFFIX)
        if key == dotted or key not in secrets:
            continue
        origin = raw.origins.get(dotted, DEFAULTS_LABEL)
        _pop(raw.data, dotted)
        if key in raw.origins:
            raw.problems.append(f"{origin}: {key}: give either {key} or {dotted}, not both")
            continue
        secret_path = base_dir / Path(str(value)).expanduser()
        try:
            content = read_secret_file(secret_path, field_type(Settings, key))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raw.problems.append(f"{origin}: {dotted}: cannot read {secret_path}: {reason}")
            continue
        raw.set(key, content, origin=str(secret_path))


def _secret_dirs(secrets: set[str], environ: Mapping[str, str], run_secrets_dir: Path) -> RawConfig:
    raw = RawConfig()
    dirs = [run_secrets_dir]
    if environ.get("CREDENTIALS_DIRECTORY"):
        dirs.append(Path(environ["CREDENTIALS_DIRECTORY"]))
    for directory in dirs:
        for key in sorted(secrets):
            candidate = directory / key
            if not candidate.is_file():
                continue
            try:
                raw.set(
                    key,
                    read_secret_file(candidate, field_type(Settings, key)),
                    origin=str(candidate),
                )
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raw.problems.append(f"{candidate}: {key}: cannot read: {reason}")
    return raw


def _validate(raw: RawConfig, secrets: set[str], *, default_label: str) -> Settings:
    problems = dict.fromkeys(raw.problems, "")
    reported: set[str] = set()

    def report(dotted: str, message: str) -> None:
        if dotted not in reported:
            reported.add(dotted)
            problems[f"{raw.origin_of(dotted, default_label)}: {dotted}: {message}"] = ""

    for dotted, value in flatten(raw.data):
        for message in _raw_checks(dotted, value, secrets):
            report(dotted, message)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(raw.data)
    except ValidationError as exc:
        for error in exc.errors():
            report(".".join(str(part) for part in error["loc"]), _message(error))
    if settings is not None:
        for dotted, message in _cross_checks(settings):
            report(dotted, message)
    if problems:
        raise ConfigError(list(problems))
    assert settings is not None
    return settings


def _raw_checks(dotted: str, value: Any, secrets: set[str]) -> list[str]:
    name = dotted.rpartition(".")[2]
    if value == "" and (dotted in secrets or name.endswith("_id")):
        return ["must not be empty"]
    if isinstance(value, list) and dotted in secrets and any(item == "" for item in value):
        return ["must not contain empty strings"]
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if name.endswith("_s") and is_number and value < 0:
        return ["must not be negative (a duration in seconds)"]
    return []


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
    return problems


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind.startswith("url_"):
        return "not a valid URL"
    if kind == "missing":
        return "required"
    message = error["msg"].removeprefix("Value error, ")
    return message.replace("Input should be", "must be").replace("input should be", "must be")


def _pop(data: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        data = data[part]
    data.pop(last, None)
