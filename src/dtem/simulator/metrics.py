"""The KPIs of one policy on one seed, from its book, through `dtem.domain.kpis`."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from dtem.domain import kpis
from dtem.simulator.book import Book
from dtem.simulator.world import DAY

DEAD_ZONE_DAYS = 2.0  # the policy's default N: no human touch within 2 days of crossing
METRICS: tuple[str, ...] = (
    "revenue",
    "wins",
    "win_rate",
    "cycle_days",
    "cac",
    "phantom_equity",
    "dead_zones",
    "coverage",
    "rep_utilisation",
    "commission",
)


@dataclass(frozen=True)
class PolicyResult:
    """One policy on one seed: the KPIs and the curves the report draws."""

    policy: str
    seed: int
    values: dict[str, float]
    revenue_by_day: list[float]  # cumulative won amount at the end of each day
    decay: list[kpis.DecayBucket]
    load_by_day: list[float]


def measure(policy: str, book: Book, owned: set[int]) -> PolicyResult:
    """`owned`: accounts owned at the end (static: every patch account; DTEM: leased)."""
    w, p = book.world, book.world.params
    start, end = w.at(0.0), w.at(w.end_minutes)
    won = kpis.win_rate(book.deals, start.date(), end.date())
    new = kpis.new_customers(book.deals, start.date(), end.date())
    cost = kpis.cac(
        book.human_hours, p.hourly_cost, book.agent_touches, p.agent_touch_cost, len(new)
    )
    crossings: dict[int, datetime] = {}  # the truth a score should catch: market entries
    for e in sorted(w.episodes, key=lambda e: e.start):
        if 0.0 <= e.start < w.end_minutes:
            crossings.setdefault(e.account, w.at(e.start))
    values = {
        "revenue": sum(a for _, a in book.won_by_day),
        "wins": float(len(book.won_by_day)),
        "win_rate": _value(won),
        "cycle_days": kpis.cycle_length(book.deals, start.date(), end.date()) or float("nan"),
        "cac": cost.value if cost.value is not None else float("nan"),
        "phantom_equity": _value(kpis.phantom_equity(owned, book.touches, end)),
        "dead_zones": _value(kpis.dead_zones(crossings, book.touches, DEAD_ZONE_DAYS)),
        "coverage": _value(kpis.coverage(range(w.n_accounts), book.touches, start, end)),
        "rep_utilisation": statistics.fmean(book.load_by_day) if book.load_by_day else 0.0,
        "commission": book.commission,
    }
    hands = [(a, w.at(t)) for a, t in book.hand_raises if t < w.end_minutes]
    decay = kpis.lead_decay(hands, book.touches, kpis.won_dates(book.deals), 90)
    return PolicyResult(
        policy, w.seed, values, _cumulative(book, p.days), decay, list(book.load_by_day)
    )


def _value(r: kpis.Ratio) -> float:
    return r.value if r.value is not None else float("nan")


def _cumulative(book: Book, days: int) -> list[float]:
    daily = [0.0] * days
    for minutes, amount in book.won_by_day:
        daily[min(int(minutes // DAY), days - 1)] += amount
    out, total = [], 0.0
    for x in daily:
        total += x
        out.append(total)
    return out
