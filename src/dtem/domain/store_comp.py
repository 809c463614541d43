"""Records the comp port returns (`dtem.domain.ports.comp`): plans, lines, closed periods.

Lines are appended, never edited: a correction is a new adjustment line. The database
keeps one line per (opportunity, seq) — seq 0 is the deal, 1, 2… its adjustments — so
a win recorded twice (a re-import, two writers racing) cannot pay twice. Money, rates
and scores are stored as exact integers (cents, millionths, hundredths) on every backend.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from dtem.domain.errors import LeaseTransitionInvalid


class CommissionConflict(LeaseTransitionInvalid):
    """A line with this (opportunity, seq) exists: a concurrent writer recorded it first."""


class PeriodLocked(CommissionConflict):
    """The line's period is closed (perhaps just now, by a concurrent close): post it in
    the next open period instead."""

    def __init__(self, period: str) -> None:
        super().__init__(f"comp period {period} is closed: its lines are locked")
        self.period = period


@dataclass(frozen=True)
class CommissionLine:
    """One commission line: a won deal (seq 0, kind `deal`) or a later adjustment."""

    opportunity: str  # the opportunity's external id
    rep_id: int
    lease_id: int
    seq: int
    kind: str  # deal | adjustment
    period: str  # YYYY-MM the line is posted in
    won_on: date
    score_at_grant: Decimal  # 2 places
    plan_version: int
    rate: Decimal  # 6 places
    amount: Decimal  # cents; an adjustment holds the change
    commission: Decimal  # cents; an adjustment holds the change
    posted_at: datetime
    policy_version: int  # the policy in force when it was posted (its won stages)
    reason: str = ""
    id: int | None = None


@dataclass(frozen=True)
class LineFilter:
    """Which lines `commission_lines` returns (unset fields match all), oldest first."""

    rep_id: int | None = None
    periods: Collection[str] | None = None
    opportunities: Collection[str] | None = None
    after_id: int | None = None  # keyset paging: only lines with a larger id
    limit: int | None = None  # at most this many (None: every one)


@dataclass(frozen=True)
class ClosedPeriod:
    period: str
    closed_at: datetime
    closed_by: str


@dataclass(frozen=True)
class PlanRow:
    """A stored comp plan document with its version."""

    version: int
    document: dict[str, Any]
    created_at: datetime
    created_by: str
    note: str
