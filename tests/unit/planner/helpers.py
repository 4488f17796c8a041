"""Small builders for planner tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from enode_scheduler.planner import Slot


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def slots_from(start: str, prices: list[float], minutes: int | list[int] = 60) -> list[Slot]:
    """Contiguous slots from `start`, one per price, `minutes` long (or one length each)."""
    lengths = minutes if isinstance(minutes, list) else [minutes] * len(prices)
    out, moment = [], utc(start)
    for price, length in zip(prices, lengths, strict=True):
        out.append(Slot(moment, moment + timedelta(minutes=length), price))
        moment += timedelta(minutes=length)
    return out


def case_json(
    *,
    now: str,
    deadline: str,
    prices: list[float],
    start: str | None = None,
    minutes: int | list[int] = 60,
    soc: float = 50.0,
    target: float = 80.0,
    capacity: float = 50.0,
    power: float = 10.0,
    efficiency: float = 1.0,
    charging_now: bool = False,
    min_soc: float = 0.0,
    penalty: float = 0.0,
) -> dict[str, object]:
    slots = slots_from(start or now, prices, minutes)
    return {
        "now": now,
        "vehicle": {
            "battery_capacity_kwh": capacity,
            "soc_percent": soc,
            "max_charge_kw": power,
            "charge_efficiency": efficiency,
            "charging_now": charging_now,
        },
        "goal": {
            "target_soc_percent": target,
            "deadline": deadline,
            "min_soc_percent": min_soc,
            "start_penalty": penalty,
        },
        "prices": [
            {
                "start": s.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end": s.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "price_per_kwh": s.price_per_kwh,
            }
            for s in slots
        ],
    }
