"""The imperative shell around the pure planner and `decide`: the reconciler and its helpers.

- `reconciler`: one reconcile step = read due cars -> plan -> persist -> act, at a given `now`.
- `reading`: reading cars from Enode; a failed read puts them off politely.
- `sending`: start/stop commands, recorded (fenced) before they are posted.
- `decide`, `polling`, `overrides`: the pure decisions (what to do, when to read, who wins).
- `wake_queue`: cars by when they next need a step.
- `model`: the ports, one car's remembered state, a step's counts.

A refused fencing epoch leaves a step as `exceptions.LostLeadership`.
"""

from enode_scheduler.service.model import (
    Car,
    Co2Objective,
    DeadlineFn,
    PlanFn,
    Ports,
    StepReport,
)
from enode_scheduler.service.reconciler import Reconciler

__all__ = [
    "Car",
    "Co2Objective",
    "DeadlineFn",
    "PlanFn",
    "Ports",
    "Reconciler",
    "StepReport",
]
