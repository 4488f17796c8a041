"""The one rule import-linter cannot state: the planner imports only the standard library.

The layers and the other import rules are contracts in pyproject.toml ([tool.importlinter]),
checked by `lint-imports` in CI. A forbidden contract can only name the packages it forbids, so
"no third-party package at all" is checked here, on import-linter's own import graph (grimp).
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp
import pytest

# highspy: the site planner may use this maintained LP/MILP solver.
ALLOWED_ROOTS = sys.stdlib_module_names | {"highspy"}


def _third_party_imports(package: str, area: str) -> set[str]:
    graph = grimp.build_graph(package, include_external_packages=True, cache_dir=None)
    return {
        f"{importer} imports {imported}"
        for importer in graph.find_descendants(area) | {area}
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.split(".")[0] not in ALLOWED_ROOTS | {package}
    }


def test_planner_uses_only_the_standard_library() -> None:
    assert not _third_party_imports("enode_scheduler", "enode_scheduler.planner")


def test_the_check_sees_a_third_party_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planner = tmp_path / "probe_pkg" / "planner"
    planner.mkdir(parents=True)
    (tmp_path / "probe_pkg" / "__init__.py").write_text("")
    (planner / "__init__.py").write_text("import json\nimport highspy\n")
    (planner / "solve.py").write_text("import httpx\nfrom probe_pkg import planner\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _third_party_imports("probe_pkg", "probe_pkg.planner") == {
        "probe_pkg.planner.solve imports httpx"
    }


def test_shards_is_a_leaf_of_the_standard_library_only() -> None:
    # Every process (daemon, CLI, benchmarks) must agree on a user's shard without other imports.
    graph = grimp.build_graph("enode_scheduler", include_external_packages=True, cache_dir=None)
    imported = graph.find_modules_directly_imported_by("enode_scheduler.shards")
    assert {name.split(".")[0] for name in imported} <= sys.stdlib_module_names
