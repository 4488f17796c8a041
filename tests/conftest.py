"""Fixtures every layer of the test suite shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The workplace lays `shared/` beside the repository; override for other layouts.
SHARED_DIR = Path(os.environ.get("ENODE_SCHEDULER_SHARED_DIR", REPO_ROOT.parent / "shared"))
POSTGRES_URL_ENV = "ENODE_SCHEDULER_TEST_POSTGRES_URL"


@pytest.fixture
def shared_dir() -> Path:
    """The read-only shared/ folder with real prices, sessions and the Enode spec."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a PostgreSQL test database; skips when none is configured.

    Session-scoped so session fixtures (a fresh database per session) can build on it.
    """
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_ENV} (CI sets it)")
    return url
