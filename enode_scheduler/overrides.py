"""Manual overrides: `charge_now` until a SoC or a time, or `pause` until a time.

An override wins over the vehicle's plan until it ends. The API writes them; the reconcile step
asks `desired_charging` before it looks at the schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

__all__ = [
    "OverrideKind",
    "OverrideRecord",
    "OverrideStore",
    "desired_charging",
]


class OverrideKind(StrEnum):
    CHARGE_NOW = "charge_now"
    PAUSE = "pause"


@dataclass(frozen=True, slots=True)
class OverrideRecord:
    """One vehicle's override: `charge_now` until a time and/or SoC, or `pause` until a time."""

    vehicle_id: str
    kind: OverrideKind
    created_at: datetime
    until: datetime | None = None
    until_soc_percent: float | None = None

    def ended(self, *, now: datetime, soc_percent: float | None) -> bool:
        """Whether the override no longer applies (its time passed or its SoC was reached)."""
        if self.until is not None and now >= self.until:
            return True
        return (
            self.kind is OverrideKind.CHARGE_NOW
            and self.until_soc_percent is not None
            and soc_percent is not None
            and soc_percent >= self.until_soc_percent
        )


def desired_charging(
    override: OverrideRecord | None, *, now: datetime, soc_percent: float | None
) -> bool | None:
    """True/False when an active override decides; None when the plan's schedule decides."""
    if override is None or override.ended(now=now, soc_percent=soc_percent):
        return None
    return override.kind is OverrideKind.CHARGE_NOW


class OverrideStore(Protocol):
    """At most one override per vehicle; a new one replaces the old."""

    async def put_override(self, record: OverrideRecord) -> None: ...

    async def get_override(self, vehicle_id: str) -> OverrideRecord | None: ...

    async def clear_override(self, vehicle_id: str) -> bool:
        """Remove the vehicle's override; False when there was none."""
        ...

    async def get_overrides(self, vehicle_ids: Sequence[str]) -> dict[str, OverrideRecord]:
        """The stored override per vehicle (ended ones included; see `OverrideRecord.ended`)."""
        ...
