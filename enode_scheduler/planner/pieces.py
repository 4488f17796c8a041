"""Priced pieces of a planning horizon, and the moves a plan can make in one piece."""

from __future__ import annotations

from typing import NamedTuple

# What a plan does inside one piece: nothing, all of it, or a part touching its left/right edge.
EMPTY, FULL, LEFT, RIGHT = 0, 1, 2, 3


class Piece(NamedTuple):
    """Time [start_us, end_us) relative to the horizon start, at one price per kWh."""

    start_us: int
    end_us: int
    price_per_kwh: float

    @property
    def length_us(self) -> int:
        return self.end_us - self.start_us
