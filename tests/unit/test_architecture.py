"""Dependencies point inward (ARCHITECTURE.md): checked on the import statements of every module."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "enode_scheduler"

# Leaf modules every layer may use: they import nothing of the project's that has I/O.
LEAVES = {"exceptions", "clock", "ports", "planner.models"}
ADAPTERS = ("enode", "prices", "store")

# area -> project modules (prefixes) it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "planner": (
        "enode",
        "prices",
        "store",
        "service",
        "bootstrap",
        "daemon",
        "cli",
        "commands",
        "sim",
        "config",
        "clock",
        "ports",
        "logs",
    ),
    "enode": ("prices", "store", "service", "bootstrap", "daemon", "cli", "commands", "sim"),
    "prices": ("enode", "store", "service", "bootstrap", "daemon", "cli", "commands", "sim"),
    "store": ("enode", "prices", "service", "bootstrap", "daemon", "cli", "commands", "sim"),
    "sim": (
        "enode",
        "prices",
        "store",
        "planner",
        "service",
        "bootstrap",
        "daemon",
        "cli",
        "commands",
        "config",
    ),
    "service": ("enode", "prices", "store", "bootstrap", "daemon", "cli", "commands", "sim"),
}


def _project_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.update(
            n.removeprefix("enode_scheduler.") for n in names if n.startswith("enode_scheduler.")
        )
    return found


def _modules(area: str) -> list[Path]:
    single = PACKAGE_DIR / f"{area}.py"
    return [single] if single.exists() else sorted((PACKAGE_DIR / area).rglob("*.py"))


def _violates(imported: str, forbidden: tuple[str, ...]) -> bool:
    return any(imported == f or imported.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("area", sorted(FORBIDDEN))
def test_area_imports_point_inward(area: str) -> None:
    modules = _modules(area)
    assert modules, f"no modules found for {area}"
    bad = {
        f"{path.relative_to(PACKAGE_DIR)} imports enode_scheduler.{name}"
        for path in modules
        for name in _project_imports(path)
        if _violates(name, FORBIDDEN[area])
    }
    assert not bad, sorted(bad)


def test_planner_uses_only_the_standard_library() -> None:
    third_party = {
        f"{path.name}: {name}"
        for path in _modules("planner")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "level", 0) == 0
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if name.split(".")[0] not in sys.stdlib_module_names | {"enode_scheduler", "__future__"}
    }
    assert not third_party, sorted(third_party)


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from enode_scheduler.store.facade import Store\nimport httpx\n")
    assert _violates(next(iter(_project_imports(module))), FORBIDDEN["planner"])
