"""pyproject.toml packaging: every package is in the wheel, the migrations mapped into it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _packages_on_disk() -> set[str]:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "enode_scheduler").rglob("__init__.py")
    }
    for package, folder in SETUPTOOLS["package-dir"].items():
        found |= {
            ".".join((package, *init.parent.relative_to(ROOT / folder).parts))
            for init in (ROOT / folder).rglob("__init__.py")
        }
    return found


def test_the_package_list_names_every_package_so_the_wheel_misses_none() -> None:
    # On failure: add the new package to [tool.setuptools] packages in pyproject.toml.
    assert sorted(SETUPTOOLS["packages"]) == sorted(_packages_on_disk())


def test_migrations_sit_beside_alembic_ini_and_are_mapped_into_the_package() -> None:
    assert SETUPTOOLS["package-dir"] == {
        "enode_scheduler.migrations": "migrations",
        "enode_scheduler.migrations.versions": "migrations/versions",
    }
    assert (ROOT / "migrations" / "env.py").is_file()
    assert (ROOT / "migrations" / "script.py.mako").is_file()
    assert SETUPTOOLS["package-data"]["enode_scheduler.migrations"] == ["script.py.mako"]
    assert "script_location = %(here)s/migrations" in (ROOT / "alembic.ini").read_text("utf-8")
