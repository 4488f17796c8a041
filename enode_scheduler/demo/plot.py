"""`demo --plot FILE.png`: prices, each car's charging windows and SoC curve (matplotlib)."""

from __future__ import annotations

from pathlib import Path

from enode_scheduler.demo.runner import DemoRun
from enode_scheduler.exceptions import InvalidInput


def draw(demo: DemoRun, path: Path) -> None:
    """Write the figure; InvalidInput when matplotlib is missing (`pip install '.[plot]'`)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise InvalidInput("--plot needs matplotlib: pip install 'enode-scheduler[plot]'") from exc
    start = min((t.samples[0][0] for t in demo.tracks.values() if t.samples), default=demo.now)
    end = demo.now
    fig, (prices, socs) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    shown = [s for s in demo.slots if s.end > start and s.start < end]
    prices.step([s.start for s in shown], [s.price_per_kwh for s in shown], where="post")
    prices.set_ylabel("price €/kWh (tariff)")
    prices.set_title("enode-scheduler demo: prices, charging windows and state of charge")
    for row, track in enumerate(demo.tracks.values()):
        times = [t for t, *_ in track.samples]
        line = socs.plot(times, [soc for _, soc, *_ in track.samples], label=track.car.label)[0]
        for w_start, w_end in track.windows:
            prices.axvspan(w_start, w_end, ymin=row * 0.04, ymax=row * 0.04 + 0.035,
                           color=line.get_color(), alpha=0.8)  # fmt: skip
    socs.set_xlim(start, end)
    socs.set_ylabel("SoC %")
    socs.legend(loc="lower right", fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
