"""The [co2] settings: defaults, the token as a secret, and what each source requires."""

from __future__ import annotations

from pathlib import Path

import pytest

from enode_scheduler.config import load_settings
from enode_scheduler.exceptions import ConfigError


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(text)
    return load_settings(config, environ=environ or {})


def test_defaults_plan_on_price_without_co2(tmp_path: Path) -> None:
    co2 = _load(tmp_path, "").co2
    assert (co2.source, co2.price_per_kg, co2.mode) == ("none", 0.0, "price")
    assert co2.emission_factor == "lifecycle"


def test_electricitymaps_token_is_a_secret_from_a_file_or_env(tmp_path: Path) -> None:
    (tmp_path / "em-token").write_text("em-secret\n")
    settings = _load(
        tmp_path,
        '[co2]\nsource = "electricitymaps"\nprice_per_kg = 0.1\n'
        '[co2.electricitymaps]\nauth_token_file = "em-token"\n',
    )
    token = settings.co2.electricitymaps.auth_token
    assert token is not None
    assert token.get_secret_value() == "em-secret"
    assert "em-secret" not in repr(settings.co2)
    env = {"ENODE_SCHEDULER__CO2__ELECTRICITYMAPS__AUTH_TOKEN": "from-env"}
    token = _load(tmp_path, '[co2]\nsource = "electricitymaps"\n', env).co2.electricitymaps
    assert token.auth_token is not None
    assert token.auth_token.get_secret_value() == "from-env"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[co2]\nsource = "electricitymaps"', "co2.electricitymaps.auth_token"),
        ('[co2]\nsource = "file"', "co2.file.path"),
        ("[co2]\nprice_per_kg = 0.2", "co2.source"),
        ('[co2]\nmode = "co2"', "co2.source"),
        ("[co2]\nprice_per_kg = -1", "co2.price_per_kg"),
        ('[co2]\nsource = "watttime"', "co2.source"),
        ("[co2.ukgrid]\nregion_id = 18", "co2.ukgrid.region_id"),
    ],
)
def test_bad_co2_settings_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert any(key in line for line in info.value.problems), info.value.problems
