"""pyproject.toml packaging: every package is in the wheel, the migrations mapped into it, the lock
covers the dependencies."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
CONSTRAINTS = ROOT / "constraints.txt"


def _folders(package: str, folder: Path) -> set[str]:
    # setuptools takes every folder for a package, a data-only one too: an unlisted one is left
    # out of the wheel with its files.
    return {package} | {
        ".".join((package, *sub.relative_to(folder).parts))
        for sub in folder.rglob("*")
        if sub.is_dir()
        and "__pycache__" not in sub.parts
        and any(f.is_file() for f in sub.iterdir())
    }


def _packages_on_disk() -> set[str]:
    found = _folders("enode_scheduler", ROOT / "enode_scheduler")
    for package, folder in SETUPTOOLS["package-dir"].items():
        found |= _folders(package, ROOT / folder)
    return found


def test_the_package_list_names_every_package_so_the_wheel_misses_none() -> None:
    # On failure: add the new package to [tool.setuptools] packages in pyproject.toml.
    listed, on_disk = set(SETUPTOOLS["packages"]), _packages_on_disk()
    assert (on_disk - listed, listed - on_disk) == (set(), set()), "(not listed, not on disk)"


def test_migrations_sit_beside_alembic_ini_and_are_mapped_into_the_package() -> None:
    assert SETUPTOOLS["package-dir"] == {
        "enode_scheduler.migrations": "migrations",
        "enode_scheduler.migrations.versions": "migrations/versions",
    }
    assert (ROOT / "migrations" / "env.py").is_file()
    assert (ROOT / "migrations" / "script.py.mako").is_file()
    assert SETUPTOOLS["package-data"]["enode_scheduler.migrations"] == ["script.py.mako"]
    assert "script_location = %(here)s/migrations" in (ROOT / "alembic.ini").read_text("utf-8")


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_the_lock_pins_every_declared_dependency() -> None:
    # On failure: refresh the lock (docs/operations.md, "Reproducible installs").
    project = PYPROJECT["project"]
    declared = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        declared |= {_name(r) for r in extra}
    pinned = {
        _name(line): line
        for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith((" ", "#"))
    }
    assert declared <= set(pinned), sorted(declared - set(pinned))
    assert all("==" in line for line in pinned.values())
