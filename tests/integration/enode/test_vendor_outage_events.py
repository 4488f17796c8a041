"""vendor_outage events from what Enode's `/health/vendors` says, over real HTTP to the fake Enode.

The daemon's detector reads the client's paused-vendor set after each step; whoever polls
`/health/vendors` (`EnodeClient.vendor_health`) changes that set, and nothing else must be done.
"""

from __future__ import annotations

from enode_scheduler.clock import FakeClock
from enode_scheduler.enode import EnodeClient
from enode_scheduler.notify.detect import Detector
from enode_scheduler.records import EventKind
from enode_scheduler.sim import RunningSim


async def test_outage_reported_by_enode_gives_one_start_and_one_end(
    client: EnodeClient, sim: RunningSim, clock: FakeClock
) -> None:
    detector = Detector()
    events = []
    for status in ("READY", "OUTAGE", "OUTAGE", "ELEVATED_ERROR_RATE", "READY"):
        sim.state.set_vendor_status("BMW", status)
        await client.vendor_health()
        events += detector.vendors(client.gates.paused_vendors, now=clock.now())
    assert [(e.kind, e.title) for e in events] == [
        (EventKind.VENDOR_OUTAGE, "BMW outage"),
        (EventKind.VENDOR_OUTAGE, "BMW outage over"),
    ]
    start, end = events
    assert start.event_id.startswith("vendor_outage:BMW:start:")
    # The end names the outage it ends, by its start.
    assert end.event_id == start.event_id.replace(":start:", ":end:")
