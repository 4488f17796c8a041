"""Sites in the daemon, as pure decisions: which cars form a site's group, whether STARTs fit
under its cap while STOPs are unconfirmed, and how a car's windows are explained in site terms.

A site (`records.SiteRecord`) is a set of (user, charging location) pairs behind one connection
capped at `max_kw`. The cars whose active plans name one of those locations and that are plugged
in there are planned together (`planner.site.plan_site`); every other car is planned on its own.
Cars are started and stopped, never throttled, so a START may go out only while the powers of the
cars drawing (charging, starting, or told to stop but not yet seen stopped) leave room for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from enode_scheduler.planner.models import Schedule
from enode_scheduler.records import SiteRecord

# The first words of the explanation line a site plan adds (found again by `site_note`).
NOTE_PREFIX = "Site "
# Sums of kW within this of the cap are at the cap, not above it (float noise).
_KW_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class SiteCarView:
    """What the grouping needs to know about one planned car."""

    vehicle_id: str
    user_id: str
    location_id: str | None  # the plan's charging location
    present: bool  # plugged in at the plan's location, with an active plan that applies there
    power_kw: float


@dataclass(frozen=True, slots=True)
class SiteGroup:
    """The cars planned together under one site's cap (sorted ids), and the cap itself."""

    site: str
    max_kw: float
    vehicle_ids: tuple[str, ...]

    @property
    def key(self) -> tuple[float, tuple[str, ...]]:
        """What a joint plan was made for: a new cap or another set of cars needs a new one."""
        return self.max_kw, self.vehicle_ids


def site_at(
    sites: Iterable[SiteRecord], user_id: str, location_id: str | None
) -> SiteRecord | None:
    """The site the user's charging location belongs to, or None."""
    if location_id is None:
        return None
    for site in sites:
        for loc in site.locations:
            if loc.user_id == user_id and loc.location_id == location_id:
                return site
    return None


def site_groups(cars: Iterable[SiteCarView], sites: Sequence[SiteRecord]) -> list[SiteGroup]:
    """One group per site with at least one present car, sorted by site name."""
    members: dict[str, list[str]] = {}
    caps: dict[str, float] = {}
    where = {(loc.user_id, loc.location_id): site for site in sites for loc in site.locations}
    for car in cars:
        if not car.present:
            continue
        site = where.get((car.user_id, car.location_id or ""))
        if site is None:
            continue
        members.setdefault(site.name, []).append(car.vehicle_id)
        caps[site.name] = site.max_kw
    return [
        SiteGroup(name, caps[name], tuple(sorted(ids))) for name, ids in sorted(members.items())
    ]


def allowed_starts(
    starts: Sequence[tuple[str, float]],
    *,
    drawing_kw: Mapping[str, float],
    max_kw: float,
) -> tuple[list[str], list[str]]:
    """Which STARTs (vehicle id, kW; in priority order) may go out now, and which must wait.

    `drawing_kw`: the cars at the site that draw power or may do so any moment: seen charging
    (a STOP sent to them counts until a reading confirms it) or with a START in flight. A START
    that fits under the cap with all of them goes out; the others wait for a confirmation.
    """
    starting = {vid for vid, _ in starts}
    load = sum(kw for vid, kw in drawing_kw.items() if vid not in starting)
    allowed: list[str] = []
    waiting: list[str] = []
    for vid, kw in starts:
        if load + kw <= max_kw + _KW_EPS:
            allowed.append(vid)
            load += kw
        else:
            waiting.append(vid)
    return allowed, waiting


def never_fits(power_kw: float, max_kw: float) -> bool:
    """A car whose charger alone is above the cap can never charge at the site."""
    return power_kw > max_kw + _KW_EPS


def explain(group: SiteGroup, vehicle_id: str, *, power_kw: float) -> str:
    """One line telling the owner that (and why) the car shares the connection."""
    others = len(group.vehicle_ids) - 1
    cap = f"{group.max_kw:g} kW"
    if never_fits(power_kw, group.max_kw):
        return (
            f"{NOTE_PREFIX}{group.site}: the car charges at {power_kw:g} kW, above the site's "
            f"{cap} cap, so it never charges there."
        )
    if others == 0:
        return f"{NOTE_PREFIX}{group.site}: the only car plugged in, within the site's {cap} cap."
    cars = "car" if others == 1 else "cars"
    return f"{NOTE_PREFIX}{group.site}: shares {cap} with {others} {cars}, planned together."


def site_note(schedule: Schedule) -> str | None:
    """The site line of a schedule's explanation, or None for a car planned on its own."""
    return next((line for line in schedule.explanation if line.startswith(NOTE_PREFIX)), None)
