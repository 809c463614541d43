"""The KPIs of docs/kpis.md over plain data: the ledger and the simulator share them.

Every function takes facts (touches, deals, crossings, lease spans) and a window
[start, end); none reads storage or the clock. Rates are `Ratio`s, so a report can show
both counts and an empty denominator stays `None` instead of a division by zero.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 3, 1, tzinfo=timezone.utc)
>>> touches = [Touch(1, t - timedelta(days=10), human=True)]
>>> phantom_equity({1, 2}, touches, t)  # account 2 is owned and untouched
Ratio(numerator=1, denominator=2)
>>> phantom_equity({1, 2}, touches, t).value
0.5
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

PHANTOM_DAYS = 90  # an owned account with no human touch in this many days is phantom
DECAY_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("< 5 min", timedelta(minutes=5)),
    ("< 1 h", timedelta(hours=1)),
    ("< 24 h", timedelta(hours=24)),
    ("later", None),  # touched, 24 h or more after the hand-raise
)
NEVER = "never"


@dataclass(frozen=True)
class Ratio:
    """A rate with its counts; `value` is None when nothing was counted."""

    numerator: float
    denominator: float

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Touch:
    """An activity on an account: by a rep (`human`) or by an agent."""

    account_id: int
    at: datetime
    human: bool
    actor: str | None = None


@dataclass(frozen=True)
class Deal:
    """An opportunity as the deal KPIs read it. `outcome`: won | lost | open."""

    account_id: int
    outcome: str
    amount: float | None = None
    created: date | None = None
    closed: date | None = None
    rep: str | None = None


@dataclass(frozen=True)
class LeaseSpan:
    """When an account was leased: [granted, ended); `ended` None = still active."""

    account_id: int
    rep: str
    granted: datetime
    ended: datetime | None = None

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """The lease was active at some instant of [start, end] (a point when equal)."""
        return self.granted <= end and (self.ended is None or self.ended > start)


@dataclass(frozen=True)
class DecayBucket:
    """Hand-raises whose first human touch fell in one bucket, and how many were won."""

    bucket: str
    hand_raises: int
    won: int

    @property
    def win_rate(self) -> float | None:
        return self.won / self.hand_raises if self.hand_raises else None


# --- touches ---------------------------------------------------------------------------
def phantom_equity(
    owned: Collection[int], touches: Iterable[Touch], to: datetime, days: int = PHANTOM_DAYS
) -> Ratio:
    """Owned accounts with no human touch in the `days` before `to` ÷ owned accounts."""
    since = to - timedelta(days=days)
    touched = {t.account_id for t in touches if t.human and since <= t.at < to}
    owned_set = set(owned)
    return Ratio(len(owned_set - touched), len(owned_set))


def dead_zones(
    crossings: Mapping[int, datetime], touches: Iterable[Touch], within_days: float
) -> Ratio:
    """Crossed accounts with no human touch within `within_days` of their first crossing
    ÷ accounts that crossed. `crossings`: account -> first crossing in the window."""
    reach = timedelta(days=within_days)
    worked = {
        t.account_id
        for t in touches
        if t.human and t.account_id in crossings
        if crossings[t.account_id] <= t.at <= crossings[t.account_id] + reach
    }
    return Ratio(len(set(crossings) - worked), len(crossings))


def first_human_touch(touches: Iterable[Touch]) -> dict[int, list[datetime]]:
    """Human touch times per account, sorted (for `lead_decay`)."""
    out: dict[int, list[datetime]] = defaultdict(list)
    for t in touches:
        if t.human:
            out[t.account_id].append(t.at)
    return {a: sorted(ts) for a, ts in out.items()}


def decay_bucket(hand_raise: datetime, human_touches: Sequence[datetime]) -> str:
    """The bucket of the time from a hand-raise to the first human touch at or after it."""
    after = [t for t in human_touches if t >= hand_raise]
    if not after:
        return NEVER
    wait = min(after) - hand_raise
    return next(name for name, limit in DECAY_BUCKETS if limit is None or wait < limit)


def lead_decay(
    hand_raises: Iterable[tuple[int, datetime]],
    touches: Iterable[Touch],
    won_on: Mapping[int, Collection[date]],
    horizon_days: int,
) -> list[DecayBucket]:
    """Win rate of hand-raises by time to first human touch (< 5 min … never).

    A hand-raise is won when its account won a deal closed on the hand-raise's day or
    within `horizon_days` after it.
    """
    human = first_human_touch(touches)
    counts = {name: [0, 0] for name, _ in DECAY_BUCKETS} | {NEVER: [0, 0]}
    for account_id, at in hand_raises:
        cell = counts[decay_bucket(at, human.get(account_id, []))]
        cell[0] += 1
        last = at.date() + timedelta(days=horizon_days)
        cell[1] += any(at.date() <= d <= last for d in won_on.get(account_id, ()))
    return [DecayBucket(name, n, w) for name, (n, w) in counts.items()]


def coverage(
    contactable: Collection[int], touches: Iterable[Touch], start: datetime, end: datetime
) -> Ratio:
    """Contactable accounts with any touch (human or agent) in [start, end) ÷ contactable."""
    wanted = set(contactable)
    touched = {t.account_id for t in touches if start <= t.at < end} & wanted
    return Ratio(len(touched), len(wanted))


# --- deals -----------------------------------------------------------------------------
def closed_in(deals: Iterable[Deal], start: date, end: date) -> list[Deal]:
    """Won or lost deals with a close date in [start, end)."""
    return [
        d
        for d in deals
        if d.outcome in ("won", "lost") and d.closed is not None and start <= d.closed < end
    ]


def win_rate(deals: Iterable[Deal], start: date, end: date) -> Ratio:
    """Won ÷ (won + lost) deals closed in [start, end)."""
    closed = closed_in(deals, start, end)
    return Ratio(sum(d.outcome == "won" for d in closed), len(closed))


def cycle_days(deal: Deal) -> int | None:
    """Days from creation to close (None without both dates)."""
    if deal.created is None or deal.closed is None:
        return None
    return (deal.closed - deal.created).days


def cycle_length(deals: Iterable[Deal], start: date, end: date) -> float | None:
    """Median days from creation to close of the won deals closed in [start, end)."""
    days = [c for d in closed_in(deals, start, end) if d.outcome == "won" for c in [cycle_days(d)]]
    known = [c for c in days if c is not None]
    return float(statistics.median(known)) if known else None


def rep_velocity(
    deals: Iterable[Deal], start: date, end: date, strength: float
) -> tuple[float | None, dict[str, float]]:
    """Won amount ÷ cycle days: the team's, and each rep's shrunk toward it.

    A rep's velocity is `(A_r + k·Ā) / (D_r + k·D̄)`: their won amount and cycle days
    plus `k` (= `strength`) pseudo-deals at the team's mean amount Ā and mean cycle D̄,
    so one quick deal does not make a star. A deal closed the day it opened counts 1 day.
    """
    won = [d for d in closed_in(deals, start, end) if d.outcome == "won"]
    rows = [
        (d.rep, d.amount or 0.0, max(c, 1)) for d in won for c in [cycle_days(d)] if c is not None
    ]
    if not rows:
        return None, {}
    amount, days = sum(r[1] for r in rows), sum(r[2] for r in rows)
    mean_amount, mean_days = amount / len(rows), days / len(rows)
    per_rep: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for rep, a, c in rows:
        if rep is not None:
            per_rep[rep][0] += a
            per_rep[rep][1] += c
    shrunk = {
        rep: (a + strength * mean_amount) / (c + strength * mean_days)
        for rep, (a, c) in sorted(per_rep.items())
    }
    return amount / days, shrunk


def won_dates(deals: Iterable[Deal]) -> dict[int, list[date]]:
    """Close dates of every won deal, per account."""
    out: dict[int, list[date]] = defaultdict(list)
    for d in deals:
        if d.outcome == "won" and d.closed is not None:
            out[d.account_id].append(d.closed)
    return dict(out)


def new_customers(deals: Iterable[Deal], start: date, end: date) -> set[int]:
    """Accounts whose first won deal closed in [start, end)."""
    return {a for a, days in won_dates(deals).items() if start <= min(days) < end}


@dataclass(frozen=True)
class Cac:
    """Customer acquisition cost: (human + agent cost) ÷ new customers."""

    human_cost: float
    agent_cost: float
    won: int  # new customers

    @property
    def value(self) -> float | None:
        total = self.human_cost + self.agent_cost
        return total / self.won if self.won else None


def cac(
    human_hours: float, hourly_cost: float, agent_touches: int, cost_per_touch: float, won: int
) -> Cac:
    """`(human hours × hourly cost + agent touches × cost per touch) ÷ new customers`."""
    return Cac(human_hours * hourly_cost, agent_touches * cost_per_touch, won)


def open_pipeline(deals: Iterable[Deal], at: date) -> float:
    """Amount of the deals open at `at`: created before it, not closed by then."""
    return sum(
        d.amount or 0.0
        for d in deals
        if (d.created is None or d.created < at)
        and (d.outcome == "open" or (d.closed is not None and d.closed >= at))
    )


def pipeline_bloat(open_amount: float, capacity: int, mean_deal: float | None) -> float | None:
    """Open pipeline ÷ (human capacity in leases × mean deal size); 1 = exactly full."""
    if not capacity or not mean_deal:
        return None
    return open_amount / (capacity * mean_deal)


def utilisation(active_leases: int, capacity: int) -> Ratio:
    """Active leases ÷ total active capacity (the λ controller's U)."""
    return Ratio(active_leases, capacity)


def leased_within(
    spans: Iterable[LeaseSpan], account_id: int, start: datetime, end: datetime
) -> bool:
    """Whether the account was under a lease at some time of [start, end]."""
    return any(s.account_id == account_id and s.overlaps(start, end) for s in spans)
