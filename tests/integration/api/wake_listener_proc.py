"""A stand-in for another replica: listens for wake-ups and prints each as a JSON line.

Run as `python -m tests.integration.api.wake_listener_proc DATABASE_URL`; prints `listening`
once LISTEN is in place and stops when its stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from enode_scheduler.config import DatabaseSettings
from enode_scheduler.store.engine import create_engine
from enode_scheduler.store.wakes import SqlWakes, Wake


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _print(wake: Wake) -> None:
    _say(json.dumps({"vehicle_ids": list(wake.vehicle_ids), "replan": wake.replan}))


async def main(url: str) -> None:
    engine = create_engine(DatabaseSettings(url=url), state_dir=Path(tempfile.gettempdir()))
    try:
        listener = SqlWakes(engine).listener(_print)
        async with listener.running():
            await listener.wait_connected()
            _say("listening")
            # Until the test closes our stdin.
            await asyncio.to_thread(sys.stdin.read)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
