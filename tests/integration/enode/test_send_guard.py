"""Fencing at send time: a start/stop the guard refuses never reaches Enode; reads go on."""

from __future__ import annotations

import pytest

from enode_scheduler.enode import EnodeClient
from enode_scheduler.exceptions import LostLeadership
from enode_scheduler.records import ChargeAction
from enode_scheduler.sim import RunningSim
from tests.integration.enode.conftest import vehicles_of


def _posts(sim: RunningSim) -> int:
    return sum(1 for e in sim.state.log if e.method == "POST" and "/charging" in e.path)


async def test_a_refused_guard_drops_the_command_before_it_leaves(
    client: EnodeClient, sim: RunningSim
) -> None:
    vehicle = vehicles_of(sim, "alice")[0]
    await client.set_charging("alice", vehicle, ChargeAction.START)
    assert _posts(sim) == 1

    asked: list[str | None] = []

    def expired(user_id: str | None) -> None:
        asked.append(user_id)
        raise LostLeadership("lease may have expired")

    client.guard_commands(expired)
    with pytest.raises(LostLeadership):
        await client.set_charging("alice", vehicle, ChargeAction.STOP)
    assert _posts(sim) == 1
    assert asked == ["alice"]  # the guard checks the shard of the command's own user
    # Reads (and link or unlink calls) stay open to a standby.
    assert (await client.get_vehicle("alice", vehicle)).vehicle_id == vehicle
    client.guard_commands(None)
    await client.set_charging("alice", vehicle, ChargeAction.STOP)
    assert _posts(sim) == 2
