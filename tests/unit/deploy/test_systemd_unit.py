"""deploy/enode-scheduler.service: required settings, systemd-analyze, and Python under MDWE."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from enode_scheduler.config import Settings
from enode_scheduler.config.sources import secret_keys

UNIT = Path(__file__).resolve().parents[3] / "deploy" / "enode-scheduler.service"
INSTALLED_BINARY = "/opt/enode-scheduler/bin/enode-scheduler"
MAX_EXPOSURE = 2.0
PGPASS = "pgpass"


def _directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "notify"),
        ("Restart", "on-failure"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "enode-scheduler"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallFilter", "@system-service"),
        ("LimitNOFILE", "8192"),
    ],
)
def test_unit_sets(key: str, value: str) -> None:
    assert value in _directives().get(key, [])


def test_unit_runs_the_daemon_with_a_watchdog() -> None:
    directives = _directives()
    assert directives["ExecStart"][0].split()[0] == INSTALLED_BINARY
    assert directives["ExecStart"][0].split()[-1] == "run"
    assert re.fullmatch(r"\d+s", directives["WatchdogSec"][0])


def test_every_credential_is_a_secret_key_or_the_postgresql_password_file() -> None:
    credentials = [value.split(":")[0] for value in _directives()["LoadCredential"]]
    assert "enode.client_secret" in credentials
    assert [name for name in credentials if name not in secret_names()] == []
    assert "PGPASSFILE=%d/pgpass" in _directives()["Environment"]


def test_systemd_analyze_verify_is_silent(tmp_path: Path) -> None:
    analyze = _systemd_analyze()
    binary = Path(sys.executable).parent / "enode-scheduler"
    if not binary.exists():
        pytest.skip(f"{binary} not installed")
    # verify checks that ExecStart exists: point it at this environment's entry point.
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED_BINARY, str(binary)))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_systemd_analyze_security_exposure_is_at_most_2() -> None:
    # --threshold takes the exposure times ten (0..100) on systemd 252.
    result = subprocess.run(
        [_systemd_analyze(), "security", "--offline=yes", "--threshold=20", str(UNIT)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE
    assert result.returncode == 0


def test_python_and_the_dependencies_work_under_memory_deny_write_execute() -> None:
    # The kernel's PR_SET_MDWE refuses the same W+X mappings as MemoryDenyWriteExecute=yes.
    result = subprocess.run(
        [sys.executable, "-c", _MDWE_PROGRAM], capture_output=True, text=True, check=False
    )
    if result.returncode == 4:
        pytest.skip("kernel without PR_SET_MDWE (Linux < 6.3)")
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


_MDWE_PROGRAM = """
import asyncio, ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(4)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("a writable and executable mapping was allowed")
except PermissionError:
    pass
import alembic, apscheduler, asyncpg, fastapi, httpx, structlog, uvicorn
import enode_scheduler.cli
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import create_async_engine
fernet = Fernet(Fernet.generate_key())
assert fernet.decrypt(fernet.encrypt(b"token")) == b"token"
async def main():
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("select 1")).scalar() == 1
    await engine.dispose()
asyncio.run(main())
print("ok")
"""


def _systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze not installed (.ci/run installs it)")
    return found


def secret_names() -> set[str]:
    """Names a secret file may have: the loader's secret keys and the libpq password file."""
    return {*secret_keys(Settings), PGPASS}
