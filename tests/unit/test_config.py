"""Config: bad files give exit 2 and one line per problem; sources win in the documented order."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enode_scheduler.cli import app
from enode_scheduler.config import Settings, is_loopback, load_settings
from enode_scheduler.config.sources import flatten
from enode_scheduler.exceptions import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY_A = "x" * 43 + "="  # 32 bytes of url-safe base64
VALID_ID = '[enode]\nclient_id = "id"\n'

# (id, config.toml text, environment, the expected line on stderr)
BAD_CONFIGS = [
    ("unknown-top-level-key", "bogus = 1", {}, "config.toml: bogus: unknown key"),
    ("unknown-key", '[enode]\ncolour = "red"', {}, "config.toml: enode.colour: unknown key"),
    (
        "bad-url",
        '[enode]\napi_url = "not a url"',
        {},
        "config.toml: enode.api_url: not a valid URL",
    ),
    (
        "url-without-http",
        '[prices.entsoe]\napi_url = "ftp://example.com"',
        {},
        "config.toml: prices.entsoe.api_url: not a valid URL",
    ),
    (
        "string-for-number",
        '[scheduler]\npoll_plugged_s = "often"',
        {},
        "config.toml: scheduler.poll_plugged_s: must be a valid number, unable to parse string"
        " as a number",
    ),
    (
        "negative-duration",
        "[scheduler]\nverify_delay_s = -5",
        {},
        "config.toml: scheduler.verify_delay_s: must not be negative (a duration in seconds)",
    ),
    (
        "typo-suggests-the-nearest-key",
        "[scheduler]\nsafety_tick = 30",
        {},
        "config.toml: scheduler.safety_tick: unknown key; did you mean scheduler.safety_tick_s?",
    ),
    (
        "negative-rate-is-a-rate",
        "[enode]\nmax_requests_per_s = -1",
        {},
        "config.toml: enode.max_requests_per_s: must be positive (a rate per second)",
    ),
    (
        "zero-rate",
        "[enode]\nmax_requests_per_s = 0",
        {},
        "config.toml: enode.max_requests_per_s: must be positive (a rate per second)",
    ),
    (
        "too-many-shards",
        "[scheduler]\nshards = 5000",
        {},
        "config.toml: scheduler.shards: must be less than or equal to 4096",
    ),
    (
        "no-shards",
        "[scheduler]\nshards = 0",
        {},
        "config.toml: scheduler.shards: must be greater than or equal to 1",
    ),
    (
        "fraction-for-integer",
        "[database]\npool_size = 1.5",
        {},
        "config.toml: database.pool_size: must be a valid integer, got a number with a"
        " fractional part",
    ),
    (
        "string-for-bool",
        '[database]\nauto_migrate = "maybe"',
        {},
        "config.toml: database.auto_migrate: must be a valid boolean, unable to interpret input",
    ),
    (
        "bad-choice",
        '[logging]\nformat = "xml"',
        {},
        "config.toml: logging.format: must be 'auto', 'json' or 'console'",
    ),
    (
        "section-not-a-table",
        "enode = 5",
        {},
        "config.toml: enode: must be a valid dictionary or instance of EnodeSettings",
    ),
    (
        "empty-id",
        '[enode]\nclient_id = ""\nclient_secret = "s"',
        {},
        "config.toml: enode.client_id: must not be empty",
    ),
    (
        "empty-secret",
        VALID_ID + 'client_secret = ""',
        {},
        "config.toml: enode.client_secret: must not be empty",
    ),
    (
        "missing-client-secret",
        VALID_ID,
        {},
        "config.toml: enode.client_secret: required when enode.client_id is set",
    ),
    (
        "missing-entsoe-token",
        '[prices]\nsource = "entsoe"',
        {},
        'config.toml: prices.entsoe.security_token: required when prices.source = "entsoe"',
    ),
    (
        "mysql-url",
        '[database]\nurl = "mysql://u@localhost/db"',
        {},
        "config.toml: database.url: not a SQLite or PostgreSQL URL (scheme 'mysql')",
    ),
    (
        "not-a-fernet-key",
        '[database]\ntoken_keys = ["short"]',
        {},
        "config.toml: database.token_keys: not a Fernet key (32 url-safe base64 bytes; make one"
        " with `enode-scheduler db new-key`)",
    ),
    (
        "toml-syntax",
        "[enode]\napi_url = https://x",
        {},
        "config.toml: TOML syntax error: Invalid value (at line 2, column 11)",
    ),
    (
        "unreadable-secret-file",
        VALID_ID + 'client_secret_file = "missing-secret.txt"',
        {},
        "config.toml: enode.client_secret_file: cannot read missing-secret.txt: No such file or"
        " directory",
    ),
    (
        "secret-file-is-a-directory",
        VALID_ID + 'client_secret_file = "secrets"',
        {},
        "config.toml: enode.client_secret_file: cannot read secrets: Is a directory",
    ),
    (
        "secret-and-secret-file",
        VALID_ID + 'client_secret = "a"\nclient_secret_file = "secrets/s"',
        {},
        "config.toml: enode.client_secret: give either enode.client_secret or"
        " enode.client_secret_file, not both",
    ),
    (
        "bad-env-value",
        "",
        {"ENODE_SCHEDULER__LOGGING__LEVEL": "loud"},
        "$ENODE_SCHEDULER__LOGGING__LEVEL: logging.level: must be 'debug', 'info', 'warning' or"
        " 'error'",
    ),
    (
        "public-listen-without-tokens",
        '[api]\nlisten = "0.0.0.0:8080"',
        {},
        "config.toml: api.listen: '0.0.0.0:8080' is not a loopback address: add [[api.tokens]] "
        "first, or listen on 127.0.0.1 (a reverse proxy in front reaches it there)",
    ),
    (
        "public-listen-from-env-without-tokens",
        "",
        {"ENODE_SCHEDULER__API__LISTEN": "[::]:8080"},
        "$ENODE_SCHEDULER__API__LISTEN: api.listen: '[::]:8080' is not a loopback address: add "
        "[[api.tokens]] first, or listen on 127.0.0.1 (a reverse proxy in front reaches it there)",
    ),
    (
        "unknown-env-key",
        "",
        {"ENODE_SCHEDULER__ENODE__NOPE": "1"},
        "$ENODE_SCHEDULER__ENODE__NOPE: enode.nope: unknown key",
    ),
    (
        "unreadable-env-secret-file",
        "",
        {"ENODE_SCHEDULER__PRICES__ENTSOE__SECURITY_TOKEN_FILE": "/nonexistent/token"},
        "$ENODE_SCHEDULER__PRICES__ENTSOE__SECURITY_TOKEN_FILE: prices.entsoe.security_token_file:"
        " cannot read /nonexistent/token: No such file or directory",
    ),
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean directory and environment: no config or secrets leak in from the developer."""
    for name in list(os.environ):
        if name.startswith("ENODE_SCHEDULER") or name in (
            "CREDENTIALS_DIRECTORY",
            "STATE_DIRECTORY",
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "s").write_text("secret\n")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "env", "line"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_exits_2_with_one_line(
    workdir: Path, text: str, env: dict[str, str], line: str
) -> None:
    (workdir / "config.toml").write_text(text)
    result = CliRunner().invoke(app, ["check-config", "config.toml"], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [line]
    assert "Traceback" not in result.output


def test_missing_file(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["check-config", "nowhere.toml"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["nowhere.toml: file not found"]


def test_every_problem_gets_its_own_line(workdir: Path) -> None:
    text = 'bogus = 1\n[enode]\napi_url = "x"\n[scheduler]\nsafety_tick_s = -1\n'
    (workdir / "config.toml").write_text(text)
    result = CliRunner().invoke(app, ["check-config", "config.toml"])
    assert result.exit_code == 2
    assert sorted(result.stderr.splitlines()) == [
        "config.toml: bogus: unknown key",
        "config.toml: enode.api_url: not a valid URL",
        "config.toml: scheduler.safety_tick_s: must not be negative (a duration in seconds)",
    ]


def test_global_config_option_errors_exit_2_for_any_command(workdir: Path) -> None:
    (workdir / "config.toml").write_text("bogus = 1")
    result = CliRunner().invoke(app, ["--config", "config.toml", "db", "current"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["config.toml: bogus: unknown key"]


def test_check_config_prints_effective_config_with_secrets_masked(workdir: Path) -> None:
    (workdir / "config.toml").write_text(VALID_ID + 'client_secret = "hunter2"\n')
    result = CliRunner().invoke(
        app, ["check-config", "config.toml"], env={"ENODE_SCHEDULER__SCHEDULER__LEASE_TTL_S": "12"}
    )
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    effective = tomllib.loads(result.stdout)
    assert effective["enode"]["client_secret"] == "**********"
    assert effective["enode"]["client_id"] == "id"
    assert effective["scheduler"]["lease_ttl_s"] == 12.0


def test_example_config_is_valid_and_documents_every_key(workdir: Path) -> None:
    example = REPO_ROOT / "config.example.toml"
    result = CliRunner().invoke(app, ["check-config", str(example)])
    assert result.exit_code == 0, result.stderr
    text = example.read_text()
    documented = {line.lstrip("# ").split(" = ")[0] for line in text.splitlines() if " = " in line}
    documented |= {
        line.strip("[]# ") for line in text.splitlines() if line.lstrip("# ").startswith("[")
    }
    keys = {dotted.rpartition(".")[2] for dotted, _ in flatten(Settings().model_dump())}
    assert keys - documented == set()


# Precedence: defaults < TOML < /run/secrets < $CREDENTIALS_DIRECTORY < environment.


def _secret_dir(path: Path, **secrets: str) -> Path:
    path.mkdir()
    for name, value in secrets.items():
        (path / name.replace("__", ".")).write_text(value + "\n")
    return path


def test_sources_win_in_the_documented_order(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[enode]\nclient_id = "id"\nclient_secret = "from-toml"\n')
    run_secrets = _secret_dir(tmp_path / "run", enode__client_secret="from-run-secrets")
    creds = _secret_dir(tmp_path / "creds", enode__client_secret="from-credentials")
    env = {"CREDENTIALS_DIRECTORY": str(creds)}

    def secret(environ: dict[str, str], run_dir: Path) -> str:
        value = load_settings(config, environ=environ, run_secrets_dir=run_dir).enode.client_secret
        assert value is not None
        return value.get_secret_value()

    empty = tmp_path / "none"
    assert secret({}, empty) == "from-toml"
    assert secret({}, run_secrets) == "from-run-secrets"
    assert secret(env, run_secrets) == "from-credentials"
    env["ENODE_SCHEDULER__ENODE__CLIENT_SECRET"] = "from-env"
    assert secret(env, run_secrets) == "from-env"


def test_file_keys_are_relative_to_the_config_and_env_file_keys_win(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "token").write_text("toml-file-token\n")
    (tmp_path / "env-token").write_text("env-file-token")
    config = tmp_path / "conf" / "config.toml"
    config.write_text('[prices.entsoe]\nsecurity_token_file = "token"\n')
    token = load_settings(config, environ={}).prices.entsoe.security_token
    assert token is not None
    assert token.get_secret_value() == "toml-file-token"
    env = {"ENODE_SCHEDULER__PRICES__ENTSOE__SECURITY_TOKEN_FILE": str(tmp_path / "env-token")}
    token = load_settings(config, environ=env).prices.entsoe.security_token
    assert token is not None
    assert token.get_secret_value() == "env-file-token"


def test_list_secrets_from_files_and_env(tmp_path: Path) -> None:
    key_b = "y" * 43 + "="
    creds = _secret_dir(tmp_path / "creds", database__token_keys=f"{KEY_A}\n{key_b}")
    settings = load_settings(None, environ={"CREDENTIALS_DIRECTORY": str(creds)})
    assert [k.get_secret_value() for k in settings.database.token_keys] == [KEY_A, key_b]
    for value in (f"{key_b},{KEY_A}", f'["{key_b}", "{KEY_A}"]'):
        env = {"ENODE_SCHEDULER__DATABASE__TOKEN_KEYS": value}
        settings = load_settings(None, environ=env, run_secrets_dir=tmp_path / "none")
        assert [k.get_secret_value() for k in settings.database.token_keys] == [key_b, KEY_A]


def test_env_overrides_nested_keys_and_types(tmp_path: Path) -> None:
    env = {
        "ENODE_SCHEDULER__PRICES__ENTSOE__SECURITY_TOKEN": "tok",
        "ENODE_SCHEDULER__PRICES__SOURCE": "entsoe",
        "ENODE_SCHEDULER__DATABASE__AUTO_MIGRATE": "true",
        "ENODE_SCHEDULER__ENODE__SCOPES": "offline_access,vehicles",
        "ENODE_SCHEDULER__STATE_DIR": str(tmp_path),
    }
    settings = load_settings(None, environ=env, run_secrets_dir=tmp_path / "none")
    assert settings.prices.source == "entsoe"
    assert settings.database.auto_migrate is True
    assert settings.enode.scopes == ("offline_access", "vehicles")
    assert settings.state_dir == tmp_path


def test_state_directory_from_systemd(tmp_path: Path) -> None:
    settings = load_settings(None, environ={"STATE_DIRECTORY": f"{tmp_path}:/other"})
    assert settings.state_dir == tmp_path


def test_config_error_lists_problems(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[api]\nmax_body_bytes = -1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ={})
    assert info.value.problems == [f"{config}: api.max_body_bytes: must be greater than 0"]


def test_printed_config_is_toml_that_loads_back(workdir: Path) -> None:
    text = """
[prices.tariff]
vat = 0.25
[[prices.tariff.grid_fees]]
name = "day"
price_per_kwh = 0.4
days = ["mon", "fri"]
start = "06:00:00"
end = "22:00:00"
[[prices.tariff.grid_fees]]
name = "night \\"cheap\\""
price_per_kwh = 0.2
[[api.tokens]]
name = "ops"
scope = "write"
sha256 = "%s"
""" % ("ab" * 32)
    (workdir / "config.toml").write_text(text)
    result = CliRunner().invoke(app, ["check-config", "config.toml"])
    assert result.exit_code == 0, result.stderr
    (workdir / "printed.toml").write_text(result.stdout)
    again = load_settings(workdir / "printed.toml", environ={})
    assert again == load_settings(workdir / "config.toml", environ={})
    assert [fee.name for fee in again.prices.tariff.grid_fees] == ["day", 'night "cheap"']


def test_check_config_masks_a_password_inside_the_database_url(workdir: Path) -> None:
    (workdir / "config.toml").write_text(
        VALID_ID
        + 'client_secret = "x"\n[database]\nurl = "postgresql://app:hunter2@db.example:5432/sched"\n'
    )
    result = CliRunner().invoke(app, ["check-config", "config.toml"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert tomllib.loads(result.stdout)["database"]["url"] == (
        "postgresql://app:***@db.example:5432/sched"
    )


def test_a_webhook_secret_shorter_than_128_bits_is_refused(workdir: Path) -> None:
    (workdir / "config.toml").write_text(
        VALID_ID + 'client_secret = "x"\nwebhook_secret = "short-secret"\n'
    )
    result = CliRunner().invoke(app, ["check-config", "config.toml"])
    assert result.exit_code == 2
    assert result.stderr.startswith("config.toml: enode.webhook_secret: shorter than 128 bits")
    assert "short-secret" not in result.stderr


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("127.0.0.1:8080", True),
        ("127.0.0.53:1", True),
        ("[::1]:8080", True),
        ("localhost:8080", True),
        ("0.0.0.0:8080", False),
        ("[::]:8080", False),
        (":8080", False),
        ("192.168.1.10:8080", False),
        ("scheduler.example.org:8080", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(listen: str, loopback: bool) -> None:
    assert is_loopback(listen) is loopback


def test_a_public_listen_with_tokens_is_accepted(tmp_path: Path) -> None:
    env = {
        "ENODE_SCHEDULER__API__LISTEN": "0.0.0.0:8080",
        "ENODE_SCHEDULER__API__TOKENS": json.dumps(
            [{"name": "ops", "scope": "read", "sha256": "a" * 64}]
        ),
        "ENODE_SCHEDULER__STATE_DIR": str(tmp_path),
    }
    settings = load_settings(None, environ=env, run_secrets_dir=tmp_path / "none")
    assert settings.api.listen == "0.0.0.0:8080"
    assert [t.name for t in settings.api.tokens] == ["ops"]
