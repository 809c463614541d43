"""Quarterly capacity bidding: who gets how many leases next quarter, and why.

Reps bid for a number of leases. Awards are proportional to a performance weight
`index ** bid_exponent`, where `index = close rate × velocity`:

- close rate = (wins + a) / (wins + losses + a + b), a Beta(a, b) prior from the policy
  (`rep_prior_wins`, `rep_prior_losses`), so a rep with 1 win in 1 deal is not a star;
- velocity = won amount per day of sales cycle, (Σ won amount + k·Ā) / (Σ cycle days + k·D̄),
  shrunk toward the team's average deal Ā and cycle D̄ with k = `shrinkage_strength`
  pseudo-deals (a rep without wins gets the team's velocity).

Water-filling caps each award at its bid and at the total capacity, hands the excess of
capped reps to the others in proportion to their weights, and rounds to whole leases by
largest remainder.

>>> [a.awarded for a in water_fill([10, 50, 50], [1.0, 1.0, 2.0], 60)]
[10, 17, 33]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from dtem.domain.policy import Policy
from dtem.domain.win_rate import close_rate as shrunk_close_rate

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def parse_quarter(text: str) -> tuple[int, int]:
    """`2027Q1` → (2027, 1); ValueError on anything else.

    >>> parse_quarter("2027Q3")
    (2027, 3)
    """
    m = _QUARTER.match(text.strip())
    if m is None:
        raise ValueError(f"quarter must look like 2027Q1 (YYYYQn, n in 1-4), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def quarter_of(day: date) -> str:
    """The quarter containing a date. >>> quarter_of(date(2027, 5, 1))  → '2027Q2'."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_start(quarter: str) -> date:
    """First day of a quarter.

    >>> quarter_start("2027Q2")
    datetime.date(2027, 4, 1)
    """
    year, q = parse_quarter(quarter)
    return date(year, 3 * (q - 1) + 1, 1)


@dataclass(frozen=True)
class CapacityBid:
    """A rep's bid for a quarter (`capacity_bids`); the award fields are set once."""

    rep_id: int
    quarter: str
    leases: int
    submitted_at: datetime
    awarded: int | None = None
    award_reason: str | None = None
    awarded_at: datetime | None = None


@dataclass(frozen=True)
class RepDeal:
    """A closed opportunity of a rep: won or lost, its amount and cycle (days, ≥ 1)."""

    rep_id: int
    won: bool
    amount: float | None
    cycle_days: float


def cycle_days(created: date | None, closed: date | None, default: float) -> float:
    """Days from creation to close (at least 1); `default` when a date is missing.

    >>> cycle_days(date(2027, 1, 1), date(2027, 1, 31), 60.0), cycle_days(None, None, 60.0)
    (30.0, 60.0)
    """
    if created is None or closed is None:
        return default
    return float(max((closed - created).days, 1))


@dataclass(frozen=True)
class TrackRecord:
    """A rep's closed deals: counts, won amount and the cycle days of the won deals."""

    wins: int = 0
    losses: int = 0
    won_amount: float = 0.0
    won_cycle_days: float = 0.0


@dataclass(frozen=True)
class Performance:
    close_rate: float
    velocity: float  # money per day of cycle
    index: float  # close_rate × velocity
    weight: float  # index ** bid_exponent


def performance(rep: TrackRecord, team: TrackRecord, policy: Policy) -> Performance:
    """The rep's shrunk close rate, velocity, index and bidding weight.

    >>> from dtem.domain.policy import default_policy
    >>> p = performance(TrackRecord(), TrackRecord(), default_policy())
    >>> round(p.close_rate, 2), round(p.velocity, 1)
    (0.2, 166.7)
    """
    close_rate = shrunk_close_rate(rep.wins, rep.losses, policy)
    if team.wins > 0:
        avg_amount = team.won_amount / team.wins
        avg_days = max(team.won_cycle_days / team.wins, 1.0)
    else:
        avg_amount, avg_days = policy.default_deal_value, policy.default_cycle_days
    k = policy.shrinkage_strength
    velocity = (rep.won_amount + k * avg_amount) / (rep.won_cycle_days + k * avg_days)
    index = close_rate * velocity
    return Performance(close_rate, velocity, index, index**policy.bid_exponent)


@dataclass(frozen=True)
class Award:
    awarded: int
    share: float  # the continuous water-filling amount before rounding
    capped: bool  # True when the bid, not the weight, set the award


def water_fill(bids: Sequence[int], weights: Sequence[float], total: int) -> list[Award]:
    """Split `total` in proportion to `weights`, never above a bid; whole units.

    >>> [a.awarded for a in water_fill([5, 5], [1.0, 3.0], 100)]
    [5, 5]
    """
    if len(bids) != len(weights):
        raise ValueError("one weight per bid")
    shares, capped = _continuous(bids, weights, max(total, 0))
    target = min(max(total, 0), sum(bids))
    awarded = _largest_remainder(shares, weights, target)
    return [Award(n, s, c) for n, s, c in zip(awarded, shares, capped, strict=True)]


def _continuous(
    bids: Sequence[int], weights: Sequence[float], total: int
) -> tuple[list[float], list[bool]]:
    shares = [0.0] * len(bids)
    capped = [False] * len(bids)
    open_ = {i for i, b in enumerate(bids) if b > 0 and weights[i] > 0}
    left = float(total)
    while open_ and left > 1e-12:
        mass = sum(weights[i] for i in open_)
        full = {i for i in open_ if left * weights[i] / mass >= bids[i]}
        if not full:
            for i in open_:
                shares[i] = left * weights[i] / mass
            break
        for i in full:  # these are capped: fix them and share what is left again
            shares[i], capped[i] = float(bids[i]), True
            left -= bids[i]
        open_ -= full
    return shares, capped


def _largest_remainder(shares: list[float], weights: Sequence[float], target: int) -> list[int]:
    # Floors first (a tiny tolerance keeps 2.9999999 from losing a unit to rounding error).
    base = [math.floor(s + 1e-9) for s in shares]
    left = target - sum(base)
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - base[i]), -weights[i], i))
    for i in order[: max(left, 0)]:
        if shares[i] - base[i] > 1e-9:
            base[i] += 1
    return base
