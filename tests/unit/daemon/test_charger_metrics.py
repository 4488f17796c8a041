"""Charger plans in the daemon's metrics."""

from __future__ import annotations

from enode_scheduler.daemon.metrics import DaemonMetrics, render
from enode_scheduler.service import StepReport


def test_charger_reads_and_commands_are_counted_and_rendered() -> None:
    metrics = DaemonMetrics()
    metrics.add(StepReport(polled=3, charger_reads=2, started=2, charger_commands=1),
                duration_s=0.1, vehicles=3)  # fmt: skip
    metrics.add(StepReport(charger_reads=1), duration_s=0.1, vehicles=3)
    text = render(metrics, None)
    assert "enode_scheduler_charger_reads_total 3" in text
    assert "enode_scheduler_charger_commands_total 1" in text
    assert 'enode_scheduler_commands_sent_total{action="START"} 2' in text
