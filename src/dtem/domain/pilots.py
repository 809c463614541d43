"""The Shark Tank pilot: a pod of reps fed only by DTEM routing, compared with the floor.

While a pilot runs, routing leases accounts (highest equity, any region) to pod reps only;
the rest of the floor keeps its static owners. The report compares the pod's deals with
the floor's over the pilot's time: velocity (won amount ÷ cycle days), win rate and cycle
length, each with the pod − floor difference and a seeded bootstrap 95% interval.

>>> from datetime import date
>>> pod = [Deal(1, "won", 100.0, date(2026, 1, 1), date(2026, 1, 11), "R1")]
>>> floor = [Deal(2, "lost", 100.0, date(2026, 1, 1), date(2026, 1, 21), "R9")]
>>> compare("win rate", pod, floor, win_share, draws=200).pod
1.0
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from dtem.domain.errors import SourceExists
from dtem.domain.kpis import Deal, cycle_days

BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 12  # fixed: the same ledger gives the same interval every time


class PilotConflict(SourceExists):
    """A pilot with that name already exists."""


@dataclass(frozen=True)
class Pilot:
    id: int
    name: str
    rep_ids: tuple[int, ...]
    started_at: datetime
    created_by: str
    ended_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.ended_at is None


Statistic = Callable[[Sequence[Deal]], float | None]


def win_share(deals: Sequence[Deal]) -> float | None:
    """Won ÷ closed."""
    return sum(d.outcome == "won" for d in deals) / len(deals) if deals else None


def velocity(deals: Sequence[Deal]) -> float | None:
    """Won amount ÷ cycle days of the won deals (a same-day close counts one day)."""
    won = [(d.amount or 0.0, max(c, 1)) for d in deals if d.outcome == "won"
           for c in [cycle_days(d)] if c is not None]  # fmt: skip
    return sum(a for a, _ in won) / sum(c for _, c in won) if won else None


def median_cycle(deals: Sequence[Deal]) -> float | None:
    """Median days from creation to close of the won deals."""
    days = [c for d in deals if d.outcome == "won" for c in [cycle_days(d)] if c is not None]
    return float(statistics.median(days)) if days else None


@dataclass(frozen=True)
class Comparison:
    """One metric for the pod and the floor, the difference and its 95% interval."""

    metric: str
    pod: float | None
    floor: float | None
    pod_deals: int
    floor_deals: int
    difference: float | None
    low: float | None
    high: float | None


def compare(
    metric: str,
    pod: Sequence[Deal],
    floor: Sequence[Deal],
    stat: Statistic,
    draws: int = BOOTSTRAP_DRAWS,
    seed: int = BOOTSTRAP_SEED,
) -> Comparison:
    """The metric on both groups and a percentile bootstrap interval of pod − floor.

    Each draw resamples the pod's and the floor's closed deals with replacement; draws
    where either side has no value (e.g. no won deal) are left out.
    """
    a, b = stat(pod), stat(floor)
    diff = a - b if a is not None and b is not None else None
    low = high = None
    if diff is not None:
        rng = np.random.default_rng(seed)
        diffs = [d for _ in range(draws) for d in [_draw(rng, pod, floor, stat)] if d is not None]
        if diffs:
            low, high = (float(x) for x in np.percentile(diffs, [2.5, 97.5]))
    return Comparison(metric, a, b, len(pod), len(floor), diff, low, high)


def _draw(
    rng: np.random.Generator, pod: Sequence[Deal], floor: Sequence[Deal], stat: Statistic
) -> float | None:
    a = stat([pod[i] for i in rng.integers(0, len(pod), len(pod))])
    b = stat([floor[i] for i in rng.integers(0, len(floor), len(floor))])
    return a - b if a is not None and b is not None else None


METRICS: tuple[tuple[str, Statistic], ...] = (
    ("velocity", velocity),
    ("win rate", win_share),
    ("cycle days", median_cycle),
)
