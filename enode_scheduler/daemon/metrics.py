"""The daemon's counters and their Prometheus text rendering (no metrics library needed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from enode_scheduler.enode import EnodeMetrics
from enode_scheduler.planner.models import Schedule
from enode_scheduler.records import PlanStatus, Presence
from enode_scheduler.service import StepReport

PLAN_STATUSES = (
    *(s.value for s in PlanStatus),
    *(p.value for p in Presence if p is not Presence.AT_LOCATION),
)


@dataclass
class DaemonMetrics:
    """Totals over the daemon's life, fed one `StepReport` at a time."""

    steps: int = 0
    polls: int = 0
    poll_errors: int = 0
    rejected_readings: int = 0
    commands: Counter[str] = field(default_factory=Counter)
    verified: int = 0
    send_failures: int = 0
    plans_failed: int = 0
    charger_reads: int = 0
    charger_commands: int = 0
    replans: Counter[str] = field(default_factory=Counter)
    vehicles: int = 0
    # Planned cars per shown status (active, away, location_unknown, no_location, ...).
    statuses: dict[str, int] = field(default_factory=dict)
    # Holds shard 0 and so runs the fleet-wide jobs (the key keeps its old name).
    leader: bool = False
    holder: str = ""
    shards_owned: int = 0
    shards_total: int = 0
    # Shards this process gained and lost over its life (rebalancing, takeovers).
    shards_gained: int = 0
    shards_lost: int = 0
    last_step_duration_s: float = 0.0
    # sums over the current schedules: (cost, saving, kg CO2, kg CO2 saved)
    planned: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    # Planned cars by records.CarStatus value (ok, relink_required, ...), as of the last step.
    car_statuses: Counter[str] = field(default_factory=Counter)

    def add(
        self,
        report: StepReport,
        *,
        duration_s: float,
        vehicles: int,
        statuses: dict[str, int] | None = None,
    ) -> None:
        self.steps += 1
        self.polls += report.polled
        self.poll_errors += report.poll_errors
        self.rejected_readings += report.rejected_readings
        self.commands["START"] += report.started
        self.commands["STOP"] += report.stopped
        self.verified += report.verified
        self.send_failures += report.send_failures
        self.plans_failed += report.plans_failed
        self.charger_reads += report.charger_reads
        self.charger_commands += report.charger_commands
        self.replans.update(report.reasons)
        self.vehicles = vehicles
        if statuses is not None:
            self.statuses = statuses
        self.last_step_duration_s = duration_s

    def set_schedules(self, schedules: Iterable[Schedule]) -> None:
        """Money and CO2 of the current schedules, against charging each car at once."""
        cost = saving = kg = kg_saved = 0.0
        for s in schedules:
            cost += s.cost
            saving += s.saving
            kg += s.co2_kg
            kg_saved += s.co2_saving_kg
        self.planned = (cost, saving, kg, kg_saved)


def render(metrics: DaemonMetrics, enode: EnodeMetrics | None) -> str:
    """Prometheus text exposition format, version 0.0.4."""
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP enode_scheduler_{name} {help_text}")
        out.append(f"# TYPE enode_scheduler_{name} {kind}")
        out.extend(f"enode_scheduler_{name}{labels} {value:g}" for labels, value in samples)

    m = metrics
    metric("reconcile_steps_total", "counter", "Reconcile steps completed.", [("", m.steps)])
    metric("vehicle_reads_total", "counter", "Vehicle readings stored.", [("", m.polls)])
    metric("vehicle_read_errors_total", "counter", "Failed reads.", [("", m.poll_errors)])
    cmds = [(f'{{action="{a}"}}', float(n)) for a, n in sorted(m.commands.items())]
    metric("commands_sent_total", "counter", "Start/stop commands sent.", cmds)
    metric("commands_verified_total", "counter", "Commands confirmed.", [("", m.verified)])
    metric("command_failures_total", "counter", "Commands refused.", [("", m.send_failures)])
    metric("plans_failed_total", "counter", "Plans marked failed.", [("", m.plans_failed)])
    metric(
        "charger_reads_total",
        "counter",
        "Readings of plans that act through a charger.",
        [("", m.charger_reads)],
    )
    metric(
        "charger_commands_total",
        "counter",
        "Start/stop commands sent to chargers (also in commands_sent_total).",
        [("", m.charger_commands)],
    )
    replans = [(f'{{reason="{r}"}}', float(n)) for r, n in sorted(m.replans.items())]
    metric("replans_total", "counter", "Schedules computed, by trigger.", replans)
    metric("vehicles", "gauge", "Vehicles with an enabled plan.", [("", m.vehicles)])
    by_status = [(f'{{status="{s}"}}', float(n)) for s, n in sorted(m.car_statuses.items())]
    metric("vehicles_by_status", "gauge", "Planned vehicles by status.", by_status)
    # Every status is always present, so a dashboard sees `away` go to 0 rather than vanish.
    shown = dict.fromkeys(PLAN_STATUSES, 0) | m.statuses
    metric(
        "plan_vehicles",
        "gauge",
        "Vehicles with an enabled plan, by status (away: plugged in elsewhere, left alone).",
        [(f'{{status="{s}"}}', float(n)) for s, n in sorted(shown.items())],
    )
    metric(
        "leader",
        "gauge",
        "1 while this process is the coordinator (holds shard 0: prices, notifications).",
        [("", float(m.leader))],
    )
    metric("coordinator", "gauge", "Same as leader.", [("", float(m.leader))])
    holder = m.holder.replace("\\", "\\\\").replace('"', '\\"')
    metric(
        "replica_info",
        "gauge",
        "This replica's lease holder name.",
        [(f'{{holder="{holder}"}}', 1)],
    )
    metric("shards_owned", "gauge", "Shards whose cars this process runs.", [("", m.shards_owned)])
    metric("shards_total", "gauge", "Shards the fleet is split into.", [("", m.shards_total)])
    metric(
        "shards_gained_total", "counter", "Shards this process took over.", [("", m.shards_gained)]
    )
    metric("shards_lost_total", "counter", "Shards this process gave up.", [("", m.shards_lost)])
    metric("step_seconds", "gauge", "Duration of the last step.", [("", m.last_step_duration_s)])
    cost, saving, kg, kg_saved = m.planned
    metric("planned_cost", "gauge", "Expected energy cost of the current schedules.", [("", cost)])
    metric(
        "planned_saving", "gauge", "Their saving against charging at once (money).", [("", saving)]
    )
    metric("planned_co2_kg", "gauge", "Expected kg CO2 of the current schedules.", [("", kg)])
    metric(
        "planned_co2_saving_kg", "gauge", "Their kg CO2 saved against charging at once.",
        [("", kg_saved)],
    )  # fmt: skip
    if enode is not None:
        reqs = [
            (f'{{operation="{op}",status="{status}"}}', float(n))
            for (op, status), n in sorted(enode.requests.items())
        ]
        metric("enode_requests_total", "counter", "Requests sent to Enode.", reqs)
        gated = [(f'{{operation="{op}"}}', float(n)) for op, n in enode.gate_refusals.items()]
        metric("enode_gate_refusals_total", "counter", "Requests held at closed gates.", gated)
        metric(
            "enode_gated_seconds_total",
            "counter",
            "Time spent waiting at gates.",
            [("", enode.gated_seconds_total)],
        )
    return "\n".join(out) + "\n"
