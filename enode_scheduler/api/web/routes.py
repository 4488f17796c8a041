"""The operator's web page: fleet, car and prices, behind the API's own tokens.

A browser logs in once with a read (or write) token, which is kept in an HTTP-only, Secure,
SameSite=Strict cookie; a script may send the bearer header instead. The pages only read: every
change goes through the JSON API. Live parts are re-fetched by `static/live.js` with an
`X-Fragment` header, which answers the part alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from enode_scheduler.api.auth import Caller, TokenTable
from enode_scheduler.api.convert import schedule_out
from enode_scheduler.api.deps import ApiDeps, WebSources
from enode_scheduler.api.web.chargers import energy_views
from enode_scheduler.api.web.chart import SocPoint, car_chart, price_chart
from enode_scheduler.api.web.fleet import (
    FleetView,
    left_alone,
    location_status,
    plan_status_label,
    problems_of,
)
from enode_scheduler.planner.models import IntensitySlot, Slot
from enode_scheduler.records import (
    CarStatus,
    ChargerReading,
    PlanRecord,
    ScheduleRecord,
    VehicleReading,
)
from enode_scheduler.service.decide import expected_soc_at

__all__ = ["COOKIE", "install_web"]

COOKIE = "enode_scheduler_token"
COOKIE_MAX_AGE_S = 12 * 3600
HISTORY_WINDOW = timedelta(days=1)
_STATIC = Path(__file__).parent / "static"
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _env(tz: ZoneInfo) -> Environment:
    env = Environment(
        loader=PackageLoader("enode_scheduler.api.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def when(value: datetime | None, fmt: str = "%a %d %b %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else "–"

    def pct(value: float | None) -> str:
        return f"{value:.0f} %" if value is not None else "–"

    def yesno(value: bool | None) -> str:
        return "–" if value is None else ("yes" if value else "no")

    def span(start: datetime, end: datetime) -> str:
        """A window: the end shows its day only when it is not the start's."""
        a, b = start.astimezone(tz), end.astimezone(tz)
        return f"{a:%a %H:%M}–{b:%H:%M}" if a.date() == b.date() else f"{a:%a %H:%M}–{b:%a %H:%M}"

    def kg(value: float) -> str:
        """Kilograms of CO2: a clean grid's night charge weighs well under one."""
        return f"{value:.2f} kg" if abs(value) < 1 else f"{value:.1f} kg"

    def kwh(value: float | None, unit: bool = True) -> str:
        """Energy of a charger-only plan: a tenth of a kWh is what an operator compares."""
        shown = f"{value:.1f}" if value is not None else "–"
        return f"{shown} kWh" if unit else shown

    env.filters.update(when=when, pct=pct, yesno=yesno, span=span, kg=kg, kwh=kwh)
    return env


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would make the login form a phishing aid."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class _Pages:
    def __init__(self, deps: ApiDeps, tokens: TokenTable, *, refresh_s: float) -> None:
        self.deps = deps
        self.refresh_s = refresh_s
        self.tokens = tokens
        self.web: WebSources | None = deps.web
        zone_tz = self.web.zone_timezone if self.web else "UTC"
        self.tz = ZoneInfo(zone_tz)
        self.env = _env(self.tz)
        self.fleet = FleetView(deps)

    # -- auth ----------------------------------------------------------------------------------

    def caller(self, request: Request) -> Caller | None:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return self.tokens.identify(credentials.strip())
        token = request.cookies.get(COOKIE)
        return self.tokens.identify(token) if token else None

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(now=self.deps.clock.now(), **context)
        return HTMLResponse(html, status_code=status, headers=_SECURITY_HEADERS)

    def to_login(self, request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("x-fragment"):
            return Response(status_code=401, headers=_SECURITY_HEADERS)
        return RedirectResponse(f"/login?next={quote(path)}", status_code=303)

    async def login_form(self, request: Request) -> Response:
        nxt = _safe_next(request.query_params.get("next"))
        return self.render("login.html", next=nxt, error=None)

    async def login(self, request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        nxt = _safe_next((form.get("next") or ["/"])[0])
        if not token or self.tokens.identify(token) is None:
            return self.render("login.html", status=401, next=nxt, error="That token is not valid.")
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(
            COOKIE, token, max_age=COOKIE_MAX_AGE_S, httponly=True, secure=True,
            samesite="strict", path="/",
        )  # fmt: skip
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, secure=True, samesite="strict")
        return response

    # -- pages ---------------------------------------------------------------------------------

    async def fleet_page(self, request: Request) -> Response:
        caller = self.caller(request)
        if caller is None:
            return self.to_login(request)
        q = request.query_params.get("q", "").strip()[:128]
        problems = request.query_params.get("problems") == "1"
        try:
            number = int(request.query_params.get("page", "1"))
        except ValueError:
            number = 1
        page = await self.fleet.page(query=q, page=number, problems_only=problems)
        fragment = bool(request.headers.get("x-fragment"))
        return self.render(
            "fleet_table.html" if fragment else "fleet.html",
            caller=caller, page=page, q=q, problems=problems, live_s=self.refresh_s,
        )  # fmt: skip

    async def car_page(self, request: Request) -> Response:
        caller = self.caller(request)
        if caller is None:
            return self.to_login(request)
        vid = request.path_params["vehicle_id"]
        d = self.deps
        plan = await d.plans.get_plan(vid)
        # A charger-only plan has no car: its page is built from its charger's reading.
        energy = (await energy_views(d.chargers, [plan])).get(vid) if plan else None
        reading = energy.reading if energy else (await d.vehicles.latest_readings([vid])).get(vid)
        if reading is None:
            what = f"No vehicle or charger plan {vid!r} is known."
            return self.render("not_found.html", status=404, caller=caller, what=what)
        now = d.clock.now()
        record = await d.schedules.get_schedule(vid)
        override = await d.overrides.get_override(vid)
        commands = await d.intents.history(vid, since=now - HISTORY_WINDOW)
        user = await d.users.get_user(reading.user_id)
        paused = self.web.paused_vendors() if self.web else frozenset()
        health = next((h for h in d.health() if h.vehicle_id == vid), None) if d.health else None
        outcome = (await d.outcomes.get_outcomes([vid])).get(vid) if d.outcomes else None
        problems = problems_of(
            reading, user, plan, record, now=now, paused_vendors=paused, health=health,
            outcome=outcome,
        )  # fmt: skip
        tz = plan.timezone if plan else "UTC"
        context: dict[str, Any] = dict(
            caller=caller, reading=reading, plan=plan, record=record, user=user,
            schedule=schedule_out(record, timezone=tz, currency=d.currency) if record else None,
            override=override, outcome=outcome.describe() if outcome else None,
            override_active=override is not None
            and not override.ended(now=now, soc_percent=reading.soc_percent),
            commands=list(reversed(commands)),
            chart=await self._car_chart(reading, record, plan, energy=energy is not None),
            energy=energy, charger=energy.charger if energy else await self._via(plan),
            problems=problems, location=location_status(reading, plan),
            trouble=health if health is not None and health.status is not CarStatus.OK else None,
            left_alone=left_alone(
                plan, unknown_location=self.web.unknown_location if self.web else "skip"
            ),
            place=await self._place(reading),
            plan_status=plan_status_label(plan) if plan else None, live_s=self.refresh_s,
            co2=self.web is not None and self.web.intensity is not None,
        )  # fmt: skip
        fragment = bool(request.headers.get("x-fragment"))
        return self.render("car_live.html" if fragment else "car.html", 200, **context)

    async def prices_page(self, request: Request) -> Response:
        caller = self.caller(request)
        if caller is None:
            return self.to_login(request)
        now = self.deps.clock.now()
        local = now.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        start = midnight.astimezone(UTC)
        end = (midnight + timedelta(days=2)).astimezone(UTC)
        raw: list[Slot] = []
        priced: list[Slot] = []
        if self.web is not None:
            raw = await self.web.prices.get_slots(self.web.zone, start=start, end=end)
            priced = self.web.price_view(raw)
        rows = list(zip(raw, priced, strict=True))
        days = [
            (day, [r for r in rows if r[0].start.astimezone(self.tz).date() == day])
            for day in (midnight.date(), (midnight + timedelta(days=1)).date())
        ]
        chart = price_chart(
            start=start, end=end, tz=str(self.tz), slots=priced, now=now, unit="per kWh"
        )
        return self.render(
            "prices.html", caller=caller, zone=self.web.zone if self.web else None, days=days,
            chart=chart if priced else None, live_s=self.refresh_s * 6,
        )  # fmt: skip

    async def _via(self, plan: PlanRecord | None) -> ChargerReading | None:
        """The latest reading of the charger a car's plan acts through."""
        cid = plan.charger_id if plan else None
        if cid is None or self.deps.chargers is None:
            return None
        return (await self.deps.chargers.latest_charger_readings([cid])).get(cid)

    async def _place(self, reading: VehicleReading) -> str | None:
        """The name of the charging location the car stands at (its id if it has no name)."""
        where = reading.charging_location_id
        if where is None or self.deps.locations is None:
            return where
        known = await self.deps.locations.list_locations(reading.user_id)
        return next((loc.name for loc in known if loc.location_id == where and loc.name), where)

    async def _car_chart(
        self,
        reading: VehicleReading,
        record: ScheduleRecord | None,
        plan: PlanRecord | None,
        *,
        energy: bool = False,
    ) -> str:
        """Prices and windows; the SoC panel too, unless the plan is charger-only (no SoC)."""
        now = self.deps.clock.now()
        start = now - timedelta(hours=6)
        if record is not None:
            start = max(now - timedelta(hours=24), min(record.computed_at, start))
        end = record.deadline + timedelta(hours=1) if record else now + timedelta(hours=24)
        end = min(max(end, now + timedelta(hours=6)), start + timedelta(days=4))
        slots: list[Slot] = []
        intensity: list[IntensitySlot] | None = None
        if self.web is not None:
            raw = await self.web.prices.get_slots(self.web.zone, start=start, end=end)
            slots = self.web.price_view(raw)
            if self.web.intensity is not None and self.web.intensity_zone is not None:
                intensity = await self.web.intensity.get_intensity(
                    self.web.intensity_zone, start=start, end=end
                )
        expected, actual = ([], []) if energy else self._soc_lines(reading, record)
        return car_chart(
            start=start, end=end, tz=str(self.tz), slots=slots,
            windows=record.schedule.windows if record else (),
            expected=expected, actual=actual, now=now,
            deadline=record.deadline if record else None,
            target_percent=plan.target_soc_percent if plan else None,
            unit="per kWh", intensity=intensity, soc=not energy,
        )  # fmt: skip

    def _soc_lines(
        self, reading: VehicleReading, record: ScheduleRecord | None
    ) -> tuple[list[SocPoint], list[SocPoint]]:
        """The expected SoC curve and the SoC read (remembered readings, then the latest)."""
        actual = list(self.web.soc_history(reading.vehicle_id)) if self.web else []
        seen, value = reading.last_seen, reading.soc_percent
        if seen is not None and value is not None and (not actual or actual[-1][0] < seen):
            actual.append((seen, value))
        return self._expected(record, reading), actual

    def _expected(self, record: ScheduleRecord | None, reading: VehicleReading) -> list[SocPoint]:
        """The SoC the schedule expects, from its start through each window to the deadline."""
        if record is None:
            return []
        s = record.schedule
        web = self.web
        capacity = reading.battery_capacity_kwh or (web.default_capacity_kwh if web else 60.0)
        efficiency = web.default_efficiency if web else 0.9
        gain = s.grid_energy_kwh * efficiency / capacity * 100
        anchor = max(0.0, s.soc_at_deadline_percent - gain)
        times = sorted(
            {record.computed_at, record.deadline}
            | {t for w in s.windows for t in (w.start, w.end) if t <= record.deadline}
        )
        return [
            (t, expected_soc_at(s, t, computed_at=record.computed_at, anchor_soc_percent=anchor))
            for t in times
            if t >= record.computed_at
        ]


def install_web(app: FastAPI, deps: ApiDeps, tokens: TokenTable, *, refresh_s: float) -> None:
    """Serve the pages at /, /cars/{id}, /prices, /login and their own static files."""
    pages = _Pages(deps, tokens, refresh_s=refresh_s)
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/", pages.fleet_page, methods=["GET"])
    router.add_api_route("/cars/{vehicle_id}", pages.car_page, methods=["GET"])
    router.add_api_route("/prices", pages.prices_page, methods=["GET"])
    router.add_api_route("/login", pages.login_form, methods=["GET"])
    router.add_api_route("/login", pages.login, methods=["POST"])
    router.add_api_route("/logout", pages.logout, methods=["POST"])
    app.include_router(router)
    app.mount("/static/web", StaticFiles(directory=_STATIC), name="web-static")
