"""Fixtures every layer of the test suite shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Real prices, sessions and the Enode spec, committed with their provenance (data/README.md).
DATA_DIR = REPO_ROOT / "data"
POSTGRES_URL_ENV = "ENODE_SCHEDULER_TEST_POSTGRES_URL"


@pytest.fixture
def data_dir() -> Path:
    """The repository's data/ folder (read-only by convention)."""
    return DATA_DIR


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a PostgreSQL test database; skips when none is configured.

    Session-scoped so session fixtures (a fresh database per session) can build on it.
    """
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_ENV} (CI sets it)")
    return url
