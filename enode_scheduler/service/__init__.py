"""The imperative shell around the pure planner and `decide`: the reconciler and its helpers.

- `reconciler`: one reconcile step = read due cars -> plan -> persist -> act, at a given `now`.
- `reading`: reading cars from Enode; a failed read puts them off politely.
- `sending`: start/stop commands, recorded (fenced) before they are posted.
- `model`: the ports, one car's remembered state, a step's counts.
"""

from enode_scheduler.service.model import (
    Car,
    Co2Objective,
    DeadlineFn,
    LostLeadership,
    PlanFn,
    Ports,
    StepReport,
)
from enode_scheduler.service.reconciler import Reconciler

__all__ = [
    "Car",
    "Co2Objective",
    "DeadlineFn",
    "LostLeadership",
    "PlanFn",
    "Ports",
    "Reconciler",
    "StepReport",
]
