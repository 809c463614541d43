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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

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


@dataclass(frozen=True)
class DealArrays:
    """Closed deals as arrays: won or not, amount, cycle days (NaN when unknown)."""

    won: npt.NDArray[np.bool_]
    amount: npt.NDArray[np.float64]
    cycle: npt.NDArray[np.float64]

    @classmethod
    def of(cls, deals: Sequence[Deal]) -> DealArrays:
        days = [cycle_days(d) for d in deals]
        return cls(
            np.array([d.outcome == "won" for d in deals], dtype=np.bool_),
            np.array([d.amount or 0.0 for d in deals], dtype=np.float64),
            np.array([np.nan if c is None else float(c) for c in days], dtype=np.float64),
        )


# A statistic maps resamples (rows of deal indices) to one value per row (NaN = none).
Statistic = Callable[[DealArrays, npt.NDArray[np.int64]], npt.NDArray[np.float64]]


def win_share(d: DealArrays, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Won ÷ closed."""
    won: npt.NDArray[np.float64] = d.won[idx].mean(axis=1, dtype=np.float64)
    return won


def velocity(d: DealArrays, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Won amount ÷ cycle days of the won deals (a same-day close counts one day)."""
    counted = d.won[idx] & ~np.isnan(d.cycle[idx])
    days = np.where(counted, np.maximum(np.nan_to_num(d.cycle[idx]), 1.0), 0.0).sum(axis=1)
    amount = np.where(counted, d.amount[idx], 0.0).sum(axis=1)
    out: npt.NDArray[np.float64] = np.divide(
        amount, days, out=np.full(len(idx), np.nan), where=days > 0
    )
    return out


def median_cycle(d: DealArrays, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Median days from creation to close of the won deals."""
    cycles = np.sort(np.where(d.won[idx], d.cycle[idx], np.nan), axis=1)  # NaN sort last
    known = (~np.isnan(cycles)).sum(axis=1)
    rows = np.arange(len(idx))
    low, high = np.maximum(known - 1, 0) // 2, known // 2
    middle = (cycles[rows, low] + cycles[rows, np.minimum(high, cycles.shape[1] - 1)]) / 2
    out: npt.NDArray[np.float64] = np.where(known > 0, middle, np.nan)
    return out


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
    mine, theirs = DealArrays.of(pod), DealArrays.of(floor)
    a, b = _point(stat, mine), _point(stat, theirs)
    diff = a - b if a is not None and b is not None else None
    low = high = None
    if diff is not None:
        rng = np.random.default_rng(seed)
        diffs = np.concatenate([
            _draws(rng, mine, stat, n) - _draws(rng, theirs, stat, n) for n in _chunks(draws)
        ])  # fmt: skip
        diffs = diffs[~np.isnan(diffs)]
        if diffs.size:
            low, high = (float(x) for x in np.percentile(diffs, [2.5, 97.5]))
    return Comparison(metric, a, b, len(pod), len(floor), diff, low, high)


def _point(stat: Statistic, deals: DealArrays) -> float | None:
    if not deals.won.size:
        return None
    value = float(stat(deals, np.arange(deals.won.size)[None, :])[0])
    return None if np.isnan(value) else value


def _chunks(draws: int, size: int = 250) -> list[int]:
    """Draws in chunks, so a resample matrix stays small (rows × deals indices)."""
    return [min(size, draws - k) for k in range(0, draws, size)]


def _draws(
    rng: np.random.Generator, deals: DealArrays, stat: Statistic, n: int
) -> npt.NDArray[np.float64]:
    size = deals.won.size
    return stat(deals, rng.integers(0, size, size=(n, size)))


METRICS: tuple[tuple[str, Statistic], ...] = (
    ("velocity", velocity),
    ("win rate", win_share),
    ("cycle days", median_cycle),
)
