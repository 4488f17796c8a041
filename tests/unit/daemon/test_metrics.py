"""The metrics text: planned cars by status, every status always present."""

from __future__ import annotations

from enode_scheduler.daemon.metrics import DaemonMetrics, render
from enode_scheduler.service import StepReport


def test_plan_vehicles_by_status() -> None:
    metrics = DaemonMetrics()
    metrics.add(StepReport(), duration_s=0.1, vehicles=3, statuses={"away": 2, "active": 1})
    text = render(metrics, None)
    assert 'enode_scheduler_plan_vehicles{status="away"} 2' in text
    assert 'enode_scheduler_plan_vehicles{status="active"} 1' in text
    for status in ("location_unknown", "no_location", "failed", "done"):
        assert f'enode_scheduler_plan_vehicles{{status="{status}"}} 0' in text
    assert "# TYPE enode_scheduler_plan_vehicles gauge" in text
