"""Comp periods (`YYYY-MM`) and the schedule of comp plans: which plan is in force when.

A plan without an end date is in force from its start until a later plan starts (and
again after a bounded later plan ends). Refused as overlaps: two plans starting on the
same day, two bounded plans sharing a day, an open-ended plan starting inside a bounded
one. A plan may not start in, or before, a closed
(locked) period: what a locked period paid never changes.

>>> period_of(date(2027, 1, 31)), next_period("2027-12")
('2027-01', '2028-01')
>>> first_open("2027-01", {"2027-01", "2027-02"})
'2027-03'
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from dtem.domain.comp import CompPlan
from dtem.domain.errors import InputInvalid, RowError

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def period_of(on: date) -> str:
    """The comp period (calendar month) holding a day."""
    return f"{on.year:04d}-{on.month:02d}"


def parse_period(text: str) -> str:
    """`2027-01` as given; anything else is an input error (exit 3, HTTP 422)."""
    if not _PERIOD.match(text.strip()):
        err = RowError("period", 1, "period", text, "not a comp period: use YYYY-MM, e.g. 2027-01")
        raise InputInvalid([err], source="period")
    return text.strip()


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def first_open(period: str, closed: Collection[str]) -> str:
    """The first period at or after `period` that is not closed (lines are posted there)."""
    while period in closed:
        period = next_period(period)
    return period


def period_range(start: str, end: str) -> list[str]:
    """Every period from `start` to `end` inclusive (empty when end < start)."""
    out: list[str] = []
    while start <= end:
        out.append(start)
        start = next_period(start)
    return out


@dataclass(frozen=True)
class StoredPlan:
    """A comp plan as stored: its version number and who stored it."""

    version: int
    plan: CompPlan
    created_at: datetime
    created_by: str
    note: str = ""


def plan_in_force(plans: Sequence[StoredPlan], on: date) -> StoredPlan | None:
    """The plan covering `on` that started last (None: no plan covers the day)."""
    covering = [p for p in plans if p.plan.covers(on)]
    return max(covering, key=lambda p: (p.plan.effective_from, p.version), default=None)


def schedule_problems(
    new: CompPlan, plans: Sequence[StoredPlan], closed: Collection[str]
) -> list[str]:
    """Every reason the new plan cannot join the schedule (empty: it can)."""
    problems = [
        f"overlaps plan version {p.version} ({_span(p.plan)})"
        for p in plans
        if _overlap(new, p.plan)
    ]
    locked = max(closed, default=None)
    start = period_of(new.effective_from)
    if locked is not None and start <= locked:
        problems.append(
            f"starts {new.effective_from} in period {start}, in or before the locked "
            f"period {locked}: a locked period's commission never changes"
        )
    return problems


def _overlap(a: CompPlan, b: CompPlan) -> bool:
    """Same start; two bounded plans sharing a day; or an open-ended plan starting inside a
    bounded one. (A bounded plan inside an open-ended one interrupts it: allowed.)"""
    if a.effective_from == b.effective_from:
        return True
    if a.effective_to is not None and b.effective_to is not None:
        return a.effective_from <= b.effective_to and b.effective_from <= a.effective_to
    open_, bounded = (a, b) if a.effective_to is None else (b, a)
    if bounded.effective_to is None:
        return False  # two open-ended plans: the later one supersedes the earlier
    return bounded.effective_from <= open_.effective_from <= bounded.effective_to


def _span(plan: CompPlan) -> str:
    return f"{plan.effective_from} to {plan.effective_to or 'open-ended'}"
