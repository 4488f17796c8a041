"""Site decisions: which cars are planned together, and which STARTs fit under the cap."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from enode_scheduler.planner.models import Schedule
from enode_scheduler.records import SiteLocation, SiteRecord
from enode_scheduler.service.sites import (
    SiteCarView,
    SiteGroup,
    allowed_starts,
    explain,
    site_at,
    site_groups,
    site_note,
)

GARAGE = SiteRecord("garage", 11.0, (SiteLocation("alice", "bay-3"), SiteLocation("bob", "bay-7")))
HOUSE = SiteRecord("house", 22.0, (SiteLocation("carol", "home"),))


def view(vid: str, user: str, loc: str | None, *, present: bool = True) -> SiteCarView:
    return SiteCarView(vid, user, loc, present, 7.4)


def test_cars_plugged_in_at_a_sites_locations_form_its_group() -> None:
    cars = [
        view("a", "alice", "bay-3"),
        view("b", "bob", "bay-7"),
        view("c", "bob", "bay-7", present=False),  # unplugged, or away
        view("d", "carol", "home"),
        view("e", "alice", "office"),  # a location in no site: planned on its own
        view("f", "bob", "bay-3"),  # bay-3 is alice's in the garage, not bob's
        view("g", "carol", None),
    ]
    groups = site_groups(cars, [HOUSE, GARAGE])
    assert groups == [
        SiteGroup("garage", 11.0, ("a", "b")),
        SiteGroup("house", 22.0, ("d",)),
    ]
    assert site_at([GARAGE], "alice", "bay-3") is GARAGE
    assert site_at([GARAGE], "alice", None) is None


def test_a_new_member_or_cap_changes_the_groups_key() -> None:
    one = SiteGroup("garage", 11.0, ("a", "b"))
    assert one.key != SiteGroup("garage", 11.0, ("a", "b", "c")).key
    assert one.key != SiteGroup("garage", 7.4, ("a", "b")).key
    assert one.key == SiteGroup("garage", 11.0, ("a", "b")).key


def test_a_start_waits_while_an_unconfirmed_stop_still_draws() -> None:
    # a was told to stop but is still seen charging: b's start would make 14.8 kW.
    allowed, waiting = allowed_starts([("b", 7.4)], drawing_kw={"a": 7.4}, max_kw=11.0)
    assert (allowed, waiting) == ([], ["b"])
    # Confirmed stopped: b may start.
    assert allowed_starts([("b", 7.4)], drawing_kw={}, max_kw=11.0) == (["b"], [])
    # Two small ones fit together; the third waits.
    assert allowed_starts(
        [("b", 3.6), ("c", 3.6), ("d", 7.4)], drawing_kw={"a": 3.6}, max_kw=11.0
    ) == (["b", "c"], ["d"])
    # A car above the cap never starts.
    assert allowed_starts([("big", 22.0)], drawing_kw={}, max_kw=11.0) == ([], ["big"])


@given(
    st.lists(st.sampled_from([3.6, 7.4, 11.0, 22.0]), max_size=6),
    st.lists(st.sampled_from([3.6, 7.4, 11.0]), max_size=4),
    st.sampled_from([7.4, 11.0, 22.0]),
)
def test_allowed_starts_never_exceed_the_cap_and_fill_greedily(
    starts_kw: list[float], drawing: list[float], cap: float
) -> None:
    starts = [(f"s{i}", kw) for i, kw in enumerate(starts_kw)]
    drawing_kw = {f"d{i}": kw for i, kw in enumerate(drawing)}
    allowed, waiting = allowed_starts(starts, drawing_kw=drawing_kw, max_kw=cap)
    assert sorted(allowed + waiting) == sorted(vid for vid, _ in starts)
    power = dict(starts)
    load = sum(drawing) + sum(power[v] for v in allowed)
    if allowed:
        assert load <= cap + 1e-6
    # Every waiting START would have pushed the load at its turn above the cap.
    for vid in waiting:
        assert load + power[vid] > cap - 1e-6 or sum(drawing) + power[vid] > cap


def test_explanations_name_the_site_the_cap_and_the_other_cars() -> None:
    group = SiteGroup("garage", 11.0, ("a", "b", "c"))
    line = explain(group, "a", power_kw=7.4)
    assert line == "Site garage: shares 11 kW with 2 cars, planned together."
    alone = explain(SiteGroup("garage", 11.0, ("a",)), "a", power_kw=7.4)
    assert "only car" in alone
    too_big = explain(group, "a", power_kw=22.0)
    assert "never charges there" in too_big
    assert "22 kW" in too_big
    schedule = Schedule(True, (), 0.0, 0.0, 0, 80.0, explanation=("x", line))
    assert site_note(schedule) == line
    assert site_note(Schedule(True, (), 0.0, 0.0, 0, 80.0, explanation=("x",))) is None
