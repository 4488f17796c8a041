"""Manual overrides: `charge_now` until a SoC or a time, or `pause` until a time.

An override wins over the vehicle's plan until it ends. The API writes them (`OverrideRecord`);
the reconcile step asks `desired_charging` before it looks at the schedule.
"""

from __future__ import annotations

from datetime import datetime

from enode_scheduler.records import OverrideKind, OverrideRecord

__all__ = ["desired_charging"]


def desired_charging(
    override: OverrideRecord | None, *, now: datetime, soc_percent: float | None
) -> bool | None:
    """True/False when an active override decides; None when the plan's schedule decides."""
    if override is None or override.ended(now=now, soc_percent=soc_percent):
        return None
    return override.kind is OverrideKind.CHARGE_NOW
