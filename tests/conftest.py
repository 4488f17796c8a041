"""Fixtures every layer of the test suite shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real prices, sessions and the Enode spec, committed with their provenance (data/README.md).
DATA_DIR = REPO_ROOT / "data"
POSTGRES_URL_ENV = "ENODE_SCHEDULER_TEST_POSTGRES_URL"


@pytest.fixture
def data_dir() -> Path:
    """The repository's data/ folder (read-only by convention)."""
    return DATA_DIR


def postgres_url_from_env() -> str | None:
    """$ENODE_SCHEDULER_TEST_POSTGRES_URL with the async driver, as the store reads `database.url`.

    So `postgresql://user@host/db`, the form the README shows, works here too.
    """
    raw = os.environ.get(POSTGRES_URL_ENV)
    if not raw:
        return None
    # Imported here: most test runs never need the store.
    from enode_scheduler.config import DatabaseSettings
    from enode_scheduler.store.engine import database_url

    try:
        url = database_url(DatabaseSettings(url=raw), state_dir=REPO_ROOT)
    except ValidationError as exc:
        pytest.fail(f"{POSTGRES_URL_ENV}: {exc.errors()[0]['msg']}", pytrace=False)
    if url.get_backend_name() != "postgresql":
        pytest.fail(f"{POSTGRES_URL_ENV}: not a PostgreSQL URL", pytrace=False)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a PostgreSQL test database; skips when none is configured.

    Session-scoped so session fixtures (a fresh database per session) can build on it.
    """
    url = postgres_url_from_env()
    if url is None:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_ENV} (CI sets it)")
    return url


# The tests that run real processes on accelerated clocks (the sim, daemons, a browser) run one
# at a time on one xdist worker, as they did before the suite ran on two: each of them expects
# the machine's second core for its own processes. The rest of the suite runs beside them.
_IN_ORDER = ("e2e", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).parent
    for item in items:
        parts = item.path.relative_to(tests_dir).parts
        if parts and parts[0] in _IN_ORDER:
            item.add_marker(pytest.mark.xdist_group("real_processes"))
