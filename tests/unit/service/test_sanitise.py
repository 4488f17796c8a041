"""Vehicle readings that cannot be true are corrected before they are stored or acted on."""

from __future__ import annotations

import math
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from enode_scheduler.service.reading import MAX_CHARGE_RATE_KW, sanitise
from tests.unit.service.test_decide import T0, reading


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
