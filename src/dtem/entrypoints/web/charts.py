"""Chart geometry for inline SVG: the server computes every shape, templates only draw.

Coordinates are in a fixed view box (`WIDTH` × `HEIGHT`); the SVG scales to its box, so
the same chart fits a phone and a desktop. Every bar carries a text `title` (what a
screen reader and a hover show).

>>> bars = histogram([Bin(0, 50, 3), Bin(50, 100, 1)], threshold=60).bars
>>> [(b.label, round(b.height)) for b in bars]
[('0–50', 150), ('50–100', 50)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dtem.domain.kpis import DecayBucket
from dtem.domain.score_records import ScoreRecord
from dtem.services.dashboard import Bin
from dtem.services.kpis import KpiRow

WIDTH = 600
HEIGHT = 200
PLOT_TOP = 10
PLOT_HEIGHT = 150  # bars grow up from PLOT_TOP + PLOT_HEIGHT; labels sit below


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str
    css: str = "bar"


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    title: str
    marker_x: float | None = None  # a vertical line (the threshold), if any
    marker_label: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = PLOT_TOP + PLOT_HEIGHT
    slanted: bool = False  # long labels, written at an angle below their bars


@dataclass(frozen=True)
class LineChart:
    points: str  # "x,y x,y …" for a polyline
    dots: list[tuple[float, float, str]]  # each point with its title
    title: str
    y_labels: list[tuple[float, str]]
    marker_y: float | None = None
    width: int = WIDTH
    height: int = HEIGHT


def _bars(
    values: Sequence[float], labels: Sequence[str], titles: Sequence[str], left: float = 0
) -> list[Bar]:
    """Bars side by side from `left` to the right edge, the tallest `PLOT_HEIGHT` high."""
    top = max(values, default=0) or 1
    slot = (WIDTH - left) / max(1, len(values))
    bars = []
    for i, (v, label, title) in enumerate(zip(values, labels, titles, strict=True)):
        h = PLOT_HEIGHT * v / top
        x = left + i * slot + 2
        bars.append(Bar(x, PLOT_TOP + PLOT_HEIGHT - h, slot - 4, h, label, title))
    return bars


SLANT_LEFT = 100  # room left of the first bar for its slanted label
SLANT_BELOW = 90  # room below the bars for slanted labels


def histogram(bins: Sequence[Bin], threshold: float) -> BarChart:
    """Accounts by score, ten points a bar, with the policy's threshold marked."""
    labels = [f"{b.low:g}–{b.high:g}" for b in bins]
    titles = [f"{b.count:,} accounts scored {b.low:g} to {b.high:g}" for b in bins]
    bars = _bars([b.count for b in bins], labels, titles)
    marker = WIDTH * min(max(threshold, 0.0), 100.0) / 100
    return BarChart(bars, "Accounts by Equity Score", marker, f"threshold {round(threshold, 1):g}")


def lead_decay(decay: Mapping[str, Sequence[DecayBucket]]) -> BarChart:
    """Win rate of hand-raises by time to first human touch, static beside DTEM."""
    values, labels, titles, css = [], [], [], []
    for side in ("static", "dtem"):
        for b in decay.get(side, ()):
            rate = b.win_rate or 0.0
            values.append(rate)
            labels.append(f"{side} {b.bucket}")
            titles.append(f"{side}, first touch {b.bucket}: {b.won} of {b.hand_raises} won")
            css.append(f"bar {side}")
    bars = [
        Bar(b.x, b.y, b.width, b.height, b.label, b.title, c)
        for b, c in zip(_bars(values, labels, titles, SLANT_LEFT), css, strict=True)
    ]
    title = "Win rate of hand-raises by time to first human touch"
    return BarChart(bars, title, height=HEIGHT + SLANT_BELOW, slanted=True)


def shares(rows: Sequence[KpiRow]) -> BarChart:
    """Every KPI that is a share (phantom equity, dead zones, coverage, win rate, …),
    static beside DTEM; a side the ledger has no figure for is left out."""
    values, labels, titles, css = [], [], [], []
    for row in rows:
        if row.unit != "share":
            continue
        for side, value in (("static", row.static), ("dtem", row.dtem)):
            if value is None:
                continue
            values.append(value)
            labels.append(f"{side} {row.name}")
            titles.append(f"{row.name}, {side}: {value:.1%}")
            css.append(f"bar {side}")
    bars = [
        Bar(b.x, b.y, b.width, b.height, b.label, b.title, c)
        for b, c in zip(_bars(values, labels, titles, SLANT_LEFT), css, strict=True)
    ]
    title = "Shares: static territories beside DTEM"
    return BarChart(bars, title, height=HEIGHT + SLANT_BELOW, slanted=True)


def score_line(history: Sequence[ScoreRecord], threshold: float) -> LineChart:
    """An account's recorded scores over time (0–100 on the y axis)."""
    if not history:
        return LineChart("", [], "No score recorded yet", [])
    t0 = history[0].as_of.timestamp()
    span = (history[-1].as_of.timestamp() - t0) or 1.0

    def xy(r: ScoreRecord) -> tuple[float, float]:
        x = 30 + (WIDTH - 40) * (r.as_of.timestamp() - t0) / span
        return round(x, 1), round(PLOT_TOP + PLOT_HEIGHT * (1 - r.score / 100), 1)

    dots = [(*xy(r), f"{r.as_of:%Y-%m-%d %H:%M}: {r.score:.1f} ({r.method})") for r in history]
    points = " ".join(f"{x},{y}" for x, y, _ in dots)
    ticks = [(PLOT_TOP + PLOT_HEIGHT * (1 - v / 100), str(v)) for v in (0, 50, 100)]
    marker = PLOT_TOP + PLOT_HEIGHT * (1 - min(max(threshold, 0.0), 100.0) / 100)
    return LineChart(points, dots, "Equity Score over time", ticks, marker)
