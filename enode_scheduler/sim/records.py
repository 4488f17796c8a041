"""Plain records the sim keeps: its request log, per-vehicle counters, per-user settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class LogEntry:
    """One request the sim received, with what it answered."""

    seq: int
    sim_time: datetime
    method: str
    path: str
    query: list[tuple[str, str]]
    user_id: str | None
    vendor: str | None
    vehicle_id: str | None
    status: int
    fault: str | None
    request_content_type: str | None
    request_body: str
    response_content_type: str | None
    response_body: str
    # The peer's address: tells apart clients sharing the sim (replicas behind their own proxies).
    client: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sim_time"] = self.sim_time.isoformat()
        data["query"] = [list(pair) for pair in self.query]
        return data


@dataclass
class VehicleCounters:
    requests: int = 0
    commands_received: int = 0
    starts: int = 0
    stops: int = 0
    watches: int = 0
    rate_limited: int = 0


@dataclass
class LinkDenial:
    error: str = "access_denied"
    description: str = "The user denied access"


@dataclass
class UserRecord:
    id: str
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    link_denial: LinkDenial | None = None
