"""The pydantic-settings sources of `load_settings`: origins recorded, `_file` keys, secret dirs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from enode_scheduler.config import PricesSettings, Settings, load_settings
from enode_scheduler.config.sources import (
    Environment,
    SecretDirectory,
    Trace,
    Traced,
    layered_sources,
)
from enode_scheduler.exceptions import ConfigError
from enode_scheduler.zones import ZONES

CONFIG_DIR = Path(__file__).resolve().parents[3] / "enode_scheduler" / "config"
KEY = "x" * 43 + "="


def _env(environ: dict[str, str], trace: Trace, base: Path | None = None) -> Traced:
    env = Environment(Settings, environ)
    return Traced(env, trace, origin=env.origin, rank=0, files_relative_to=base)


def test_environment_nests_and_records_each_key_s_variable() -> None:
    trace = Trace()
    data = _env(
        {
            "ENODE_SCHEDULER__LOGGING__LEVEL": "debug",
            "ENODE_SCHEDULER__PRICES__TARIFF": '{"vat": 0.25}',
            "ENODE_SCHEDULER__ENODE__SCOPES": "a, b",
            "OTHER": "ignored",
        },
        trace,
    )()
    assert data == {
        "logging": {"level": "debug"},
        "prices": {"tariff": {"vat": 0.25}},
        "enode": {"scopes": ["a", "b"]},
    }
    assert trace.origins == {
        "logging.level": "$ENODE_SCHEDULER__LOGGING__LEVEL",
        # A key inside a JSON table names the variable that held the table.
        "prices.tariff.vat": "$ENODE_SCHEDULER__PRICES__TARIFF",
        "enode.scopes": "$ENODE_SCHEDULER__ENODE__SCOPES",
    }


def test_environment_prefix_is_exact_and_the_rest_case_insensitive() -> None:
    trace = Trace()
    data = _env(
        {"ENODE_SCHEDULER__Logging__LEVEL": "debug", "enode_scheduler__api__listen": "x"}, trace
    )()
    assert data == {"logging": {"level": "debug"}}
    assert trace.origin_of("logging.level", "none") == "$ENODE_SCHEDULER__Logging__LEVEL"


def test_environment_keeps_unknown_keys_for_validation_to_refuse() -> None:
    data = _env({"ENODE_SCHEDULER__BOGUS": "1", "ENODE_SCHEDULER__ENODE__NOPE": "2"}, Trace())()
    assert data == {"bogus": "1", "enode": {"nope": "2"}}


def test_empty_list_variable_means_no_items() -> None:
    settings = load_settings(
        None, environ={"ENODE_SCHEDULER__ENODE__SCOPES": ""}, run_secrets_dir=Path("/nonexistent")
    )
    assert settings.enode.scopes == ()


def test_file_key_is_read_relative_to_its_source_and_the_file_is_the_origin(
    tmp_path: Path,
) -> None:
    (tmp_path / "secret").write_text("s3cret\n")
    trace = Trace()
    data = _env({"ENODE_SCHEDULER__ENODE__CLIENT_SECRET_FILE": "secret"}, trace, tmp_path)()
    assert data == {"enode": {"client_secret": "s3cret"}}
    assert trace.origins == {"enode.client_secret": str(tmp_path / "secret")}
    assert trace.problem_lines() == []


def test_file_key_problems_name_the_variable_and_mark_the_key_failed(tmp_path: Path) -> None:
    trace = Trace()
    data = _env({"ENODE_SCHEDULER__ENODE__CLIENT_SECRET_FILE": "missing"}, trace, tmp_path)()
    assert data == {"enode": {}}
    assert trace.problem_lines() == [
        "$ENODE_SCHEDULER__ENODE__CLIENT_SECRET_FILE: enode.client_secret_file: cannot read "
        f"{tmp_path / 'missing'}: No such file or directory"
    ]
    assert trace.failed == {"enode.client_secret"}


def test_a_key_and_its_file_twin_in_one_source_is_a_problem(tmp_path: Path) -> None:
    trace = Trace()
    environ = {
        "ENODE_SCHEDULER__ENODE__CLIENT_SECRET": "a",
        "ENODE_SCHEDULER__ENODE__CLIENT_SECRET_FILE": "b",
    }
    _env(environ, trace, tmp_path)()
    assert trace.problem_lines() == [
        "$ENODE_SCHEDULER__ENODE__CLIENT_SECRET_FILE: enode.client_secret: give either "
        "enode.client_secret or enode.client_secret_file, not both"
    ]


def test_file_suffix_on_a_plain_key_is_left_for_validation_to_refuse(tmp_path: Path) -> None:
    data = _env({"ENODE_SCHEDULER__ENODE__CLIENT_ID_FILE": "x"}, Trace(), tmp_path)()
    assert data == {"enode": {"client_id_file": "x"}}


def test_secret_directory_reads_only_secret_keys_one_list_item_per_line(tmp_path: Path) -> None:
    (tmp_path / "enode.client_secret").write_text("s3cret\n")
    (tmp_path / "database.token_keys").write_text(f"{KEY}\n\n{KEY}\n")
    (tmp_path / "prices.zone").write_text("SE3")  # not a secret: not read from files
    (tmp_path / "pgpass").write_text("unrelated")
    secrets = SecretDirectory(Settings, tmp_path)
    trace = Trace()
    data = Traced(secrets, trace, origin=secrets.origin, rank=0)()
    assert data == {
        "enode": {"client_secret": "s3cret"},
        "database": {"token_keys": [KEY, KEY]},
    }
    assert trace.origins["database.token_keys"] == str(tmp_path / "database.token_keys")


def test_unreadable_secret_file_is_one_problem_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "enode.client_secret").write_bytes(b"\xff\xfe")
    secrets = SecretDirectory(Settings, tmp_path)
    trace = Trace()
    assert Traced(secrets, trace, origin=secrets.origin, rank=0)() == {}
    [line] = trace.problem_lines()
    assert line.startswith(f"{tmp_path / 'enode.client_secret'}: enode.client_secret: cannot read")
    assert trace.failed == {"enode.client_secret"}


def test_unreadable_secret_file_is_reported_once_by_load_settings(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "enode.client_secret").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError) as info:
        load_settings(
            None, environ={"ENODE_SCHEDULER__ENODE__CLIENT_ID": "id"}, run_secrets_dir=run
        )
    # Not also "enode.client_secret: required when enode.client_id is set".
    assert len(info.value.problems) == 1
    assert "enode.client_secret: cannot read" in info.value.problems[0]


def test_first_source_to_give_a_key_keeps_its_origin() -> None:
    # pydantic-settings calls sources from the highest precedence down.
    trace = Trace()
    for origin, level in (("high", "debug"), ("low", "info")):
        env = Environment(Settings, {"ENODE_SCHEDULER__LOGGING__LEVEL": level})
        Traced(env, trace, origin=origin.format, rank=0)()  # origin.format: a constant
    assert trace.origin_of("logging.level", "default") == "high"
    assert trace.origin_of("logging.level.x", "default") == "high"  # the key holding it
    assert trace.origin_of("logging", "default") == "high"  # a key below it
    assert trace.origin_of("api", "default") == "default"


def test_sources_come_lowest_precedence_first(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("")
    layers = layered_sources(
        Settings, Trace(), path=config, environ={}, secret_dirs=[tmp_path / "a", tmp_path / "b"]
    )
    inner = [type(layer.source).__name__ for layer in layers if isinstance(layer, Traced)]
    assert inner == [
        "StateDirectory",
        "TomlFile",
        "SecretDirectory",
        "SecretDirectory",
        "Environment",
    ]


def test_problems_are_listed_lowest_precedence_first(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[enode]\nclient_secret_file = "missing"\n')
    environ = {"ENODE_SCHEDULER__PRICES__ENTSOE__SECURITY_TOKEN_FILE": str(tmp_path / "none")}
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ=environ, run_secrets_dir=tmp_path / "run")
    assert [line.split(": ")[0] for line in info.value.problems] == [
        str(config),
        "$ENODE_SCHEDULER__PRICES__ENTSOE__SECURITY_TOKEN_FILE",
    ]


def test_settings_built_directly_read_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENODE_SCHEDULER__LOGGING__LEVEL", "debug")
    assert Settings().logging.level == "info"
    assert load_settings(None, run_secrets_dir=Path("/nonexistent")).logging.level == "debug"


def test_zone_names_are_checked_against_the_shared_table() -> None:
    assert PricesSettings(zone="de-lu").zone == "DE_LU"
    assert set(ZONES) >= {"NO2", "DE_LU"}
    from enode_scheduler.prices.zones import ZONES as PRICE_ZONES

    assert PRICE_ZONES is ZONES


FORBIDDEN = ("prices", "store", "enode", "service", "daemon", "api", "bootstrap", "cli", "commands")


def test_config_imports_no_adapter_service_or_entry_point() -> None:
    bad = []
    for path in sorted(CONFIG_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                area = name.removeprefix("enode_scheduler.").split(".")[0]
                if name.startswith("enode_scheduler.") and area in FORBIDDEN:
                    bad.append(f"{path.name}: {name}")
    assert bad == []


def test_importing_config_loads_no_web_database_or_http_library() -> None:
    code = (
        "import sys, enode_scheduler.config\n"
        "heavy = ('fastapi', 'starlette', 'sqlalchemy', 'httpx', 'enode_scheduler.prices')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(CONFIG_DIR.parents[1])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout.strip() == "[]"
