"""Vehicle readings that cannot be true are corrected before they are stored or acted on."""

from __future__ import annotations

import math
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from enode_scheduler.service.reading import MAX_CHARGE_RATE_KW, sanitise
from tests.fakes import FakeCar
from tests.unit.service.test_decide import T0, reading
from tests.unit.service.test_reconciler import TOMORROW_7, make_world


@given(rate=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
def test_charge_rate_outside_0_to_400_kw_becomes_unknown(rate: float | None) -> None:
    got = sanitise(reading(charge_rate_kw=rate), now=T0).charge_rate_kw
    if rate is not None and math.isfinite(rate) and 0 <= rate <= MAX_CHARGE_RATE_KW:
        assert got == rate
    else:
        assert got is None


@given(ahead_s=st.floats(min_value=-1e7, max_value=1e9))
def test_last_seen_is_never_after_now(ahead_s: float) -> None:
    seen = T0 + timedelta(seconds=ahead_s)
    got = sanitise(reading(last_seen=seen), now=T0).last_seen
    assert got == min(seen, T0)


def test_one_line_names_what_was_corrected() -> None:
    bad = reading(charge_rate_kw=-3.0, last_seen=T0 + timedelta(days=400))
    with capture_logs() as logs:
        fixed = sanitise(bad, now=T0)
    assert (fixed.charge_rate_kw, fixed.last_seen) == (None, T0)
    assert fixed.soc_percent == bad.soc_percent
    (line,) = logs
    assert line["event"] == "reading_corrected"
    assert line["charge_rate_kw"] == "-3.0"
    assert "last_seen" in line


def test_a_sound_reading_is_left_as_it_is() -> None:
    good = reading(charge_rate_kw=11.0, last_seen=T0 - timedelta(minutes=5))
    with capture_logs() as logs:
        assert sanitise(good, now=T0) is good
    assert logs == []


async def test_the_daemon_stores_corrected_readings() -> None:
    world = await make_world([FakeCar("v1", "u1", charging=True)])
    await world.add_plan("v1", target=80.0, deadline=TOMORROW_7)
    world.enode.garbled["v1"] = {
        "charge_rate_kw": -7.0,
        "last_seen": world.clock.now() + timedelta(days=30),
    }
    await world.rec.load(now=world.clock.now())
    await world.run(hours=0.5)
    stored = (await world.stores.vehicles.latest_readings(["v1"]))["v1"]
    assert stored.charge_rate_kw is None
    assert stored.last_seen is not None
    assert stored.last_seen <= world.clock.now()
    # The reading is still used: the car charging in the expensive afternoon is stopped.
    assert world.enode.commands
