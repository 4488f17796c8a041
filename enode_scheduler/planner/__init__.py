"""The pure planning core: stdlib only, no I/O, no clock reads.

Public API: `plan`, `estimate_tail_price`, `estimate_tail_intensity`, `next_deadline` and the
value types of `models`.
"""

from __future__ import annotations

from enode_scheduler.planner.goals import next_deadline
from enode_scheduler.planner.models import (
    CurvePoint,
    Goal,
    Schedule,
    Slot,
    VehicleState,
    Window,
    WindowReason,
)
from enode_scheduler.planner.planning import grid_need_kwh, plan
from enode_scheduler.planner.timeline import estimate_tail_intensity, estimate_tail_price

__all__ = [
    "CurvePoint",
    "Goal",
    "Schedule",
    "Slot",
    "VehicleState",
    "Window",
    "WindowReason",
    "estimate_tail_intensity",
    "estimate_tail_price",
    "grid_need_kwh",
    "next_deadline",
    "plan",
]
