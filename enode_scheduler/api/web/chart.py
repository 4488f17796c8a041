"""Charts as inline SVG, drawn on the server: no JavaScript, and they follow the page's colours.

Every shape carries a CSS class (`c-price`, `c-window`, ...) and no colour of its own, so the
stylesheet draws them in light and dark mode alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from enode_scheduler.planner.models import IntensitySlot, Slot, Window

__all__ = ["SocPoint", "car_chart", "price_chart"]

SocPoint = tuple[datetime, float]

_W, _LEFT, _RIGHT = 800.0, 56.0, 16.0
_PLOT_W = _W - _LEFT - _RIGHT


@dataclass(frozen=True, slots=True)
class _Axis:
    start: datetime
    end: datetime
    tz: ZoneInfo

    def x(self, when: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        frac = (when - self.start).total_seconds() / span
        return round(_LEFT + _PLOT_W * min(1.0, max(0.0, frac)), 1)

    def ticks(self) -> list[datetime]:
        hours = (self.end - self.start).total_seconds() / 3600
        step = next(s for s in (1, 2, 3, 6, 12, 24, 48) if hours / s <= 12)
        local = self.start.astimezone(self.tz).replace(minute=0, second=0, microsecond=0)
        out = []
        t = local + timedelta(hours=1)
        while t < self.end:
            if t.hour % step == 0:
                out.append(t)
            t += timedelta(hours=1)
        return out


@dataclass(slots=True)
class _Svg:
    height: float
    title: str
    desc: str
    parts: list[str] = field(default_factory=list)

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def render(self, ident: str) -> str:
        return (
            f'<svg class="chart" viewBox="0 0 {_W:.0f} {self.height:.0f}" role="img" '
            f'aria-labelledby="{ident}-t {ident}-d" data-chart="{ident}">'
            f'<title id="{ident}-t">{escape(self.title)}</title>'
            f'<desc id="{ident}-d">{escape(self.desc)}</desc>' + "".join(self.parts) + "</svg>"
        )


def _y(value: float, low: float, high: float, top: float, bottom: float) -> float:
    span = (high - low) or 1.0
    return round(bottom - (value - low) / span * (bottom - top), 1)


def _price_panel(
    svg: _Svg, axis: _Axis, slots: Sequence[Slot], *, top: float, bottom: float, unit: str
) -> None:
    prices = [s.price_per_kwh for s in slots]
    low, high = min([0.0, *prices]), max([0.0, *prices]) or 1.0
    for frac in (0.0, 0.5, 1.0):
        value = low + (high - low) * frac
        y = _y(value, low, high, top, bottom)
        svg.add(f'<line class="c-grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y}" y2="{y}"/>')
        svg.add(f'<text class="c-label" x="{_LEFT - 6}" y="{y + 4}" text-anchor="end">'
                f"{value:.2f}</text>")  # fmt: skip
    zero = _y(0.0, low, high, top, bottom)
    for s in slots:
        x0, x1 = axis.x(s.start), axis.x(s.end)
        if x1 <= x0:
            continue
        y = _y(s.price_per_kwh, low, high, top, bottom)
        cls = "c-price c-provisional" if s.provisional else "c-price"
        svg.add(
            f'<rect class="{cls}" x="{x0}" y="{min(y, zero)}" width="{round(x1 - x0, 1)}" '
            f'height="{round(abs(zero - y), 1)}"><title>{_hm(s.start, axis.tz)} '
            f"{s.price_per_kwh:.3f} {escape(unit)}</title></rect>"
        )
    svg.add(f'<text class="c-label" x="{_LEFT}" y="{top - 6}">{escape(unit)}</text>')


def _nice_ceiling(value: float) -> float:
    """The axis top: the next multiple of 50 g (of 10 g below 100 g), so the labels stay round."""
    step = 50.0 if value > 100 else 10.0
    return max(step, -(-value // step) * step)


def _co2_panel(
    svg: _Svg, axis: _Axis, slots: Sequence[IntensitySlot], *, top: float, bottom: float
) -> None:
    """Carbon intensity as a step line (a gap where none is stored), each slot hoverable."""
    svg.add(f'<text class="c-label" x="{_LEFT}" y="{top - 6}">g CO2/kWh</text>')
    if not slots:
        middle = (top + bottom) / 2 + 4
        svg.add(
            f'<text class="c-label" x="{_LEFT + _PLOT_W / 2}" y="{middle}" text-anchor="middle">'
            "no carbon intensity stored for this period</text>"
        )
        return
    high = _nice_ceiling(max(s.g_co2_per_kwh for s in slots))
    for frac in (0.0, 0.5, 1.0):
        value = high * frac
        y = _y(value, 0.0, high, top, bottom)
        svg.add(f'<line class="c-grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y}" y2="{y}"/>')
        svg.add(f'<text class="c-label" x="{_LEFT - 6}" y="{y + 4}" text-anchor="end">'
                f"{value:.0f}</text>")  # fmt: skip
    runs: list[list[str]] = []
    previous_end: datetime | None = None
    for s in slots:
        x0, x1 = axis.x(s.start), axis.x(s.end)
        if x1 <= x0:
            continue
        y = _y(s.g_co2_per_kwh, 0.0, high, top, bottom)
        if previous_end != s.start:
            runs.append([])
        runs[-1] += [f"{x0},{y}", f"{x1},{y}"]
        previous_end = s.end
        svg.add(
            f'<rect class="c-co2-slot" x="{x0}" y="{top}" width="{round(x1 - x0, 1)}" '
            f'height="{bottom - top}"><title>{_hm(s.start, axis.tz)} '
            f"{s.g_co2_per_kwh:.0f} g CO2/kWh</title></rect>"
        )
    for run in runs:
        svg.add(f'<polyline class="c-co2" points="{" ".join(run)}"/>')


def _time_axis(svg: _Svg, axis: _Axis, *, top: float, bottom: float) -> None:
    for t in axis.ticks():
        x = axis.x(t)
        svg.add(f'<line class="c-grid" x1="{x}" x2="{x}" y1="{top}" y2="{bottom}"/>')
        svg.add(f'<text class="c-label" x="{x}" y="{bottom + 16}" text-anchor="middle">'
                f"{t:%H:%M}</text>")  # fmt: skip


def _hm(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%a %H:%M")


def _marker(svg: _Svg, axis: _Axis, when: datetime, cls: str, label: str, top: float,
            bottom: float) -> None:  # fmt: skip
    if not axis.start <= when <= axis.end:
        return
    x = axis.x(when)
    svg.add(f'<line class="{cls}" x1="{x}" x2="{x}" y1="{top}" y2="{bottom}"/>')
    # "now" labels the foot of its line, "deadline" the head: the two never overlap.
    y = bottom - 4 if cls == "c-now" else top + 10
    # Near the right edge the label goes left of its line, or it would be cut off.
    anchor = f'x="{x - 3}" text-anchor="end"' if x > _W - _RIGHT - 60 else f'x="{x + 3}"'
    svg.add(f'<text class="c-label {cls}-label" {anchor} y="{y}">{escape(label)}</text>')


def car_chart(
    *,
    start: datetime,
    end: datetime,
    tz: str,
    slots: Sequence[Slot],
    windows: Sequence[Window],
    expected: Sequence[SocPoint],
    actual: Sequence[SocPoint],
    now: datetime,
    deadline: datetime | None,
    target_percent: float | None,
    unit: str,
    intensity: Sequence[IntensitySlot] | None = None,
    soc: bool = True,
) -> str:
    """Prices with the planned windows shaded (top), the carbon intensity when a CO2 source is
    configured (`intensity` not None, middle), expected and read SoC (bottom; not drawn without
    `soc`, for a plan that knows no SoC)."""
    axis = _Axis(start, end, ZoneInfo(tz))
    desc = (
        f"{len(windows)} planned window(s) over {len(slots)} price slots from "
        f"{_hm(start, axis.tz)} to {_hm(end, axis.tz)}"
    )
    desc += f"; {len(actual)} SoC reading(s)." if soc else "."
    parts = ["Prices", "planned windows"]
    price_top, price_bottom = 24.0, 180.0
    bottom = price_bottom
    if intensity is not None:
        parts.insert(1, "carbon intensity")
        desc += f" Carbon intensity for {len(intensity)} slot(s)."
        co2_top, co2_bottom = bottom + 40.0, bottom + 140.0
        bottom = co2_bottom
    if soc:
        parts.append("state of charge")
        soc_top, soc_bottom = bottom + 40.0, bottom + 200.0
        bottom = soc_bottom
    title = ", ".join(parts[:-1]) + " and " + parts[-1]
    svg = _Svg(height=bottom + 40.0, title=title, desc=desc)
    for w in windows:
        x0, x1 = axis.x(w.start), axis.x(w.end)
        svg.add(
            f'<rect class="c-window" data-window="{w.start.isoformat()}" x="{x0}" '
            f'y="{price_top}" width="{round(max(x1 - x0, 1.0), 1)}" '
            f'height="{bottom - price_top}"><title>Charge {_hm(w.start, axis.tz)}–'
            f"{_hm(w.end, axis.tz)}: {escape(str(w.reason))}</title></rect>"
        )
    _price_panel(svg, axis, slots, top=price_top, bottom=price_bottom, unit=unit)
    if intensity is not None:
        _co2_panel(svg, axis, intensity, top=co2_top, bottom=co2_bottom)
    if soc:
        _soc_panel(svg, axis, expected, actual, target_percent, top=soc_top, bottom=soc_bottom)
    _time_axis(svg, axis, top=price_top, bottom=bottom)
    _marker(svg, axis, now, "c-now", "now", price_top, bottom)
    if deadline is not None:
        _marker(svg, axis, deadline, "c-deadline", "deadline", price_top, bottom)
    if soc:
        svg.add(f'<text class="c-label" x="{_LEFT}" y="{soc_top - 6}">SoC</text>')
    return svg.render("car")


def _soc_panel(
    svg: _Svg,
    axis: _Axis,
    expected: Sequence[SocPoint],
    actual: Sequence[SocPoint],
    target_percent: float | None,
    *,
    top: float,
    bottom: float,
) -> None:
    for value in (0, 50, 100):
        y = _y(value, 0, 100, top, bottom)
        svg.add(f'<line class="c-grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y}" y2="{y}"/>')
        svg.add(f'<text class="c-label" x="{_LEFT - 6}" y="{y + 4}" text-anchor="end">'
                f"{value} %</text>")  # fmt: skip
    if target_percent is not None:
        y = _y(target_percent, 0, 100, top, bottom)
        svg.add(f'<line class="c-target" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y}" y2="{y}"/>')
        svg.add(f'<text class="c-label" x="{_W - _RIGHT}" y="{y - 4}" text-anchor="end">'
                f"target {target_percent:.0f} %</text>")  # fmt: skip
    if expected:
        points = " ".join(f"{axis.x(t)},{_y(v, 0, 100, top, bottom)}" for t, v in expected)
        svg.add(f'<polyline class="c-expected" points="{points}"/>')
    for t, v in actual:
        if axis.start <= t <= axis.end:
            svg.add(
                f'<circle class="c-actual" cx="{axis.x(t)}" '
                f'cy="{_y(v, 0, 100, top, bottom)}" r="3.5">'
                f"<title>{_hm(t, axis.tz)} read {v:.0f} %</title></circle>"
            )


def price_chart(
    *, start: datetime, end: datetime, tz: str, slots: Sequence[Slot], now: datetime, unit: str
) -> str:
    """The price of each slot as a bar, with the current time marked."""
    axis = _Axis(start, end, ZoneInfo(tz))
    desc = f"{len(slots)} price slots from {_hm(start, axis.tz)} to {_hm(end, axis.tz)}."
    svg = _Svg(height=240.0, title="Prices with the tariff applied", desc=desc)
    _price_panel(svg, axis, slots, top=24.0, bottom=200.0, unit=unit)
    _time_axis(svg, axis, top=24.0, bottom=200.0)
    _marker(svg, axis, now, "c-now", "now", 24.0, 200.0)
    return svg.render("prices")
