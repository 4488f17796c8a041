"""Helpers for daemon tests: settings pointed at an in-process sim, tokens, plans."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from pathlib import Path

from enode_scheduler.config import (
    ApiSettings,
    DatabaseSettings,
    EnodeSettings,
    LoggingSettings,
    PricesSettings,
    SchedulerSettings,
    Settings,
)
from enode_scheduler.records import PlanRecord, UserTokens
from enode_scheduler.sim import RunningSim
from enode_scheduler.store import Store


def daemon_settings(
    state_dir: Path,
    sim: RunningSim,
    *,
    database_url: str | None = None,
    listen: str | None = None,
    scheduler: SchedulerSettings | None = None,
) -> Settings:
    """Settings for a daemon on `sim`, a SQLite file in `state_dir` (or `database_url`)."""
    return Settings(
        state_dir=state_dir,
        enode=EnodeSettings(
            client_id=sim.client_id,
            client_secret=sim.client_secret,
            api_url=sim.api_url,
            token_url=sim.token_url,
            authorize_url=sim.authorize_url,
            max_requests_per_s=50,
        ),
        database=DatabaseSettings(url=database_url, auto_migrate=True),
        prices=PricesSettings(source="file", zone="NO1"),
        scheduler=scheduler or SchedulerSettings(verify_delay_s=90, deadline_margin_s=600),
        api=ApiSettings(listen=listen),
        logging=LoggingSettings(level="warning"),
    )


async def link_user(store: Store, sim: RunningSim, user_id: str, *, now: datetime) -> None:
    """Save tokens as if the user had completed the link flow."""
    issued = sim.state.issue_user_token(user_id)
    expires_at = now + timedelta(seconds=issued.expires_in_s)
    tokens = UserTokens(issued.access_token, issued.refresh_token, expires_at)
    await store.tokens.save_tokens(user_id, tokens)


async def add_plan(
    store: Store,
    vehicle_id: str,
    user_id: str,
    *,
    target: float,
    deadline: datetime,
    location_id: str | None,
) -> None:
    await store.plans.put_plan(
        PlanRecord(
            vehicle_id=vehicle_id, user_id=user_id, target_soc_percent=target, deadline=deadline,
            location_id=location_id,
        )
    )  # fmt: skip


class NotifyListener:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    def close(self) -> None:
        self.sock.close()
