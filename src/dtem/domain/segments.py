"""Velocity and cost by segment: won-deal history shrunk toward the global figure.

A segment (size band × industry) with few won deals says little about itself, so its
expected deal value and cycle length are pulled toward the figure of all segments with
`policy.shrinkage_strength` pseudo-deals (empirical Bayes with a fixed prior weight);
the global figure is itself pulled toward the policy defaults the same way.

The figures are frozen into a versioned `Economics` snapshot: a score uses one
snapshot, so a new won deal elsewhere changes no score until the snapshot is refreshed.

>>> deals = [WonDeal("smb|retail", 1000.0, 10.0)]
>>> eco = Economics.from_deals(deals, version=1)
>>> v = segment_velocity(eco, Policy(shrinkage_strength=1.0), "smb|retail")
>>> round(v.deal_value, 2), round(v.cycle_days, 2)
(3250.0, 22.5)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dtem.domain.capacity import price_of_capacity
from dtem.domain.policy import Policy

ALL_SEGMENTS = "*"


@dataclass(frozen=True)
class WonDeal:
    """One won opportunity: its account's segment, amount and cycle (days)."""

    segment: str
    amount: float | None
    cycle_days: float | None


@dataclass(frozen=True)
class SegmentStats:
    """Observed means of one segment; counts are kept apart (a deal may lack a date)."""

    value_deals: int = 0
    mean_value: float = 0.0
    cycle_deals: int = 0
    mean_cycle_days: float = 0.0

    @classmethod
    def of(cls, deals: Iterable[WonDeal]) -> SegmentStats:
        values = [d.amount for d in deals if d.amount is not None and d.amount > 0]
        cycles = [d.cycle_days for d in deals if d.cycle_days is not None and d.cycle_days >= 0]
        return cls(
            len(values),
            math.fsum(values) / len(values) if values else 0.0,
            len(cycles),
            math.fsum(cycles) / len(cycles) if cycles else 0.0,
        )


@dataclass(frozen=True)
class Economics:
    """A frozen snapshot of segment figures; version 0 = no history (policy defaults)."""

    version: int = 0
    overall: SegmentStats = field(default_factory=SegmentStats)
    segments: dict[str, SegmentStats] = field(default_factory=dict)
    blended_hourly: float | None = None  # mean hourly cost of active reps at refresh
    computed_at: datetime | None = None

    @classmethod
    def from_deals(
        cls,
        deals: Sequence[WonDeal],
        version: int,
        blended_hourly: float | None = None,
        computed_at: datetime | None = None,
    ) -> Economics:
        by_segment: dict[str, list[WonDeal]] = defaultdict(list)
        for d in deals:
            by_segment[d.segment].append(d)
        return cls(
            version=version,
            overall=SegmentStats.of(deals),
            segments={seg: SegmentStats.of(ds) for seg, ds in sorted(by_segment.items())},
            blended_hourly=blended_hourly,
            computed_at=computed_at,
        )


def shrunk(n: int, mean: float, prior: float, strength: float) -> float:
    """`(n × mean + k × prior) / (n + k)`: the prior when n = 0, the mean as n grows.

    >>> shrunk(0, 5.0, 1.0, 10.0), shrunk(10, 5.0, 1.0, 10.0)
    (1.0, 3.0)
    """
    if n + strength <= 0:
        return prior
    return (n * mean + strength * prior) / (n + strength)


@dataclass(frozen=True)
class Velocity:
    """Expected deal value (money) and cycle (days) of a segment; `per_day` = V."""

    deal_value: float
    cycle_days: float

    @property
    def per_day(self) -> float:
        return self.deal_value / self.cycle_days


def segment_velocity(eco: Economics, policy: Policy, segment: str) -> Velocity:
    """Shrunk deal value and cycle of a segment (a cycle is at least one day)."""
    k = policy.shrinkage_strength
    o = eco.overall
    global_value = shrunk(o.value_deals, o.mean_value, policy.default_deal_value, k)
    global_cycle = shrunk(o.cycle_deals, o.mean_cycle_days, policy.default_cycle_days, k)
    s = eco.segments.get(segment, SegmentStats())
    value = shrunk(s.value_deals, s.mean_value, global_value, k)
    cycle = shrunk(s.cycle_deals, s.mean_cycle_days, global_cycle, k)
    return Velocity(value, max(cycle, 1.0))


def lambda_hourly(eco: Economics, policy: Policy) -> float:
    """λ as of the snapshot (`dtem.domain.capacity.price_of_capacity`)."""
    return price_of_capacity(policy, eco.blended_hourly)


def segment_cost(eco: Economics, policy: Policy, segment: str) -> float:
    """C = effort hours of the segment × λ.

    >>> segment_cost(Economics(blended_hourly=50.0), Policy(), "smb|retail")
    500.0
    """
    hours = policy.effort_hours.get(segment, policy.default_effort_hours)
    return hours * lambda_hourly(eco, policy)
