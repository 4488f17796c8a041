"""The planner stays pure: it imports only the standard library and its own package."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import enode_scheduler.planner

ALLOWED_PROJECT = ("enode_scheduler.planner", "enode_scheduler.exceptions")
BANNED_STDLIB = {"time", "os", "socket", "subprocess", "random", "io", "pathlib"}
# The one third-party import allowed: the site planner's LP solver (HiGHS), in the LP module only.
SOLVER = ("site_lp.py", "highspy")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_planner_imports_only_stdlib_and_itself() -> None:
    package = Path(enode_scheduler.planner.__file__).parent
    files = sorted(package.glob("*.py"))
    assert len(files) >= 8
    for file in files:
        for name in _imports(file):
            top = name.split(".")[0]
            if top == "enode_scheduler":
                assert name.startswith(ALLOWED_PROJECT), f"{file.name} imports {name}"
            elif (file.name, top) != SOLVER:
                assert top in sys.stdlib_module_names, f"{file.name} imports {name}"
                assert top not in BANNED_STDLIB, f"{file.name} imports {name} (I/O or clock)"
