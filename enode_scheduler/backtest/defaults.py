"""The real data the backtest uses when no file is given: the repository's top-level data/ folder.

The data is not in the wheel (years of prices and thousands of sessions, under their sources'
terms, see data/README.md), so an installed package without a checkout must be given its files.
"""

from __future__ import annotations

from pathlib import Path

from enode_scheduler.exceptions import InvalidInput

# enode_scheduler/backtest/defaults.py -> the checkout the package was installed from (editable).
REPO_DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEFAULT_PRICES = ("prices/NO2_2024.csv", "prices/DE_LU_2024.csv")
DEFAULT_SESSIONS = "sessions/norway_residential_sessions.csv.gz"


def default_file(relative: str, option: str) -> Path:
    """`relative` inside the repository's data/; InvalidInput naming `option` when it is missing."""
    path = REPO_DATA_DIR / relative
    if not path.is_file():
        raise InvalidInput(
            f"default data file {path} not found (it comes with a clone of the repository, "
            f"not with the installed package); pass {option}"
        )
    return path


def default_prices() -> list[Path]:
    return [default_file(name, "--prices") for name in DEFAULT_PRICES]


def default_sessions() -> Path:
    return default_file(DEFAULT_SESSIONS, "--sessions")
