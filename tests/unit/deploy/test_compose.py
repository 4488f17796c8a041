"""deploy/docker-compose.yml: PostgreSQL, migrations before the daemon, secrets, health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from tests.unit.deploy.test_systemd_unit import secret_names

COMPOSE = Path(__file__).resolve().parents[3] / "deploy" / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def test_postgres_16_is_health_checked() -> None:
    postgres = _compose()["services"]["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")


def test_migrations_run_before_the_daemon_starts() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["scheduler"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_the_daemon_is_health_checked_read_only_and_keeps_state_in_a_volume() -> None:
    scheduler = _compose()["services"]["scheduler"]
    assert scheduler["command"] == ["run"]
    assert scheduler["healthcheck"]["test"] == ["CMD", "enode-scheduler", "healthcheck"]
    assert scheduler["read_only"] is True
    assert "state:/var/lib/enode-scheduler" in scheduler["volumes"]


def test_secrets_are_files_named_after_secret_keys() -> None:
    compose = _compose()
    scheduler = compose["services"]["scheduler"]
    targets = [secret["target"] for secret in scheduler["secrets"]]
    assert {"pgpass", "enode.client_secret"} <= set(targets)
    assert [target for target in targets if target not in secret_names()] == []
    assert all("file" in secret for secret in compose["secrets"].values())
    assert scheduler["environment"]["PGPASSFILE"] == "/run/secrets/pgpass"
    url = make_url(scheduler["environment"]["ENODE_SCHEDULER__DATABASE__URL"])
    assert (url.drivername, url.host, url.password) == ("postgresql+asyncpg", "postgres", None)
