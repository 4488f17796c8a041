"""Configuration: the settings model, where values come from, and one-line errors about them.

- `models`: the `Settings` tree (frozen, unknown keys refused) and `load_settings`.
- `sources`: the TOML file, secret directories, the environment and `<key>_file` indirection.
- `problems`: pydantic's errors turned into one line that names the key and where it came from.
- `reference`: `docs/configuration.md`, generated from the model.
"""

from enode_scheduler.config.models import (
    DEFAULTS_LABEL,
    RUN_SECRETS_DIR,
    ApiSettings,
    ApiToken,
    ClockSettings,
    Co2FileSettings,
    Co2Settings,
    DatabaseSettings,
    ElectricityMapsSettings,
    EnodeSettings,
    EntsoeSettings,
    FilePricesSettings,
    LoggingSettings,
    NordpoolSettings,
    NotifyTarget,
    PricesSettings,
    SchedulerSettings,
    Settings,
    TariffSettings,
    TimeOfUseFee,
    UkGridSettings,
    is_loopback,
    load_settings,
)

__all__ = [
    "DEFAULTS_LABEL",
    "RUN_SECRETS_DIR",
    "ApiSettings",
    "ApiToken",
    "ClockSettings",
    "Co2FileSettings",
    "Co2Settings",
    "DatabaseSettings",
    "ElectricityMapsSettings",
    "EnodeSettings",
    "EntsoeSettings",
    "FilePricesSettings",
    "LoggingSettings",
    "NordpoolSettings",
    "NotifyTarget",
    "PricesSettings",
    "SchedulerSettings",
    "Settings",
    "TariffSettings",
    "TimeOfUseFee",
    "UkGridSettings",
    "is_loopback",
    "load_settings",
]
