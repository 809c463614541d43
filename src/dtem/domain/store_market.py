"""Ledger port.

Market maker: routing decisions, overflow, lease events, availability, bids, sync.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dtem.domain.bidding import CapacityBid, RepDeal
from dtem.domain.model import Account, Lease, Rep
from dtem.domain.roster import RepRoster, RosterLoad


@dataclass(frozen=True)
class ScoreRow:
    """The latest score of an account, as routing reads it."""

    account_id: int
    as_of: datetime
    score: float
    propensity: float
    velocity: float
    policy_version: int


@dataclass(frozen=True)
class RoutingRecord:
    """One stored routing decision (`dtem route --explain` shows it)."""

    account_id: int
    at: datetime
    trigger: str
    policy_version: int
    outcome: str
    chosen_rep_id: int | None
    lease_id: int | None
    candidates: list[dict[str, Any]]
    exclusions: dict[str, str]
    id: int | None = None


@dataclass(frozen=True)
class RoutingRep:
    """A rep as routing needs it: identity and rules, active leases, record in a segment."""

    rep: Rep
    active_leases: int
    wins: int
    losses: int


@dataclass(frozen=True)
class MarketQuery:
    """What routing asks about every rep for one account at one time."""

    account_id: int
    segment: str
    quarter: str  # capacity awarded for this quarter replaces the rep's capacity
    at: datetime  # leave windows in effect now
    cooling_since: datetime  # revocations/expiries on this account since then cool the rep


@dataclass(frozen=True)
class OverflowEntry:
    id: int
    account_id: int
    queued_at: datetime
    reason: str
    resolved_at: datetime | None = None
    resolution: str | None = None


@dataclass(frozen=True)
class LeaseEventRow:
    lease_id: int
    kind: str
    at: datetime
    actor: str
    reason: str
    policy_version: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class Unavailability:
    id: int
    rep_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass(frozen=True)
class ClosedDeal:
    """A won or lost opportunity of a rep, with the account's segment inputs."""

    rep_id: int
    employees: int | None
    industry: str | None
    stage: str


@dataclass(frozen=True)
class LeaseFilter:
    """Which leases `find_leases` returns (all fields optional; newest first)."""

    rep_id: int | None = None
    account_id: int | None = None
    active_only: bool = False
    limit: int = 100


class MarketStore(Protocol):
    """Methods of a unit of work for this feature (see `dtem.domain.ports.LedgerTx`)."""

    # --- routing facts (each one indexed query: routing must stay in milliseconds) -------
    def accounts_by_id(self, account_ids: Collection[int]) -> dict[int, Account]: ...
    def routing_score(self, account_id: int) -> ScoreRow | None:
        """The account's latest score row (None = never scored)."""
        ...

    def active_lease_counts(self) -> dict[int, int]:
        """Rep id -> number of active leases (reps without one are absent)."""
        ...

    def routing_reps(self, segment: str) -> list[RoutingRep]:
        """Every rep with its active leases and its (wins, losses) in the segment: one query."""
        ...

    def rep_market(self, query: MarketQuery) -> tuple[RepRoster, RosterLoad]:
        """Every rep by id with its load, record, leave, cooldown and award: one query.

        The roster part may be shared between calls while the reps are unchanged.
        """
        ...

    def add_rep_load(self, rep_id: int, delta: int) -> None:
        """Keep the per-rep active lease count (called by grant_lease / end_lease)."""
        ...

    def rebuild_rep_loads(self) -> int:
        """Recount the per-rep loads from the leases (the review repairs any drift)."""
        ...

    def lock_rep_load(self, rep_id: int) -> int:
        """Lock the rep against concurrent grants until commit; return its active leases."""
        ...

    def reps_on_leave(self, at: datetime) -> set[int]: ...
    def cooling_reps(self, account_id: int, since: datetime) -> set[int]:
        """Reps whose lease on the account was revoked or expired at or after `since`."""
        ...

    def rep_records(self, segment: str) -> dict[int, tuple[int, int]]:
        """Rep id -> (wins, losses) in the segment, as of the last refresh."""
        ...

    def replace_rep_records(
        self, records: Mapping[tuple[int, str], tuple[int, int]], at: datetime
    ) -> None: ...
    def closed_deals(self, won: Collection[str], lost: Collection[str]) -> list[ClosedDeal]: ...

    # --- decisions and overflow --------------------------------------------------------
    def add_routing_decision(self, record: RoutingRecord) -> int: ...
    def routing_decisions(self, account_id: int, limit: int = 20) -> list[RoutingRecord]: ...
    def open_overflow(self, account_id: int) -> OverflowEntry | None: ...
    def add_overflow(self, account_id: int, at: datetime, reason: str) -> int: ...
    def resolve_overflow(self, entry_id: int, at: datetime, resolution: str) -> None: ...
    def overflow_entries(
        self, open_only: bool = True, queued_before: datetime | None = None
    ) -> list[OverflowEntry]: ...

    # --- lease history -----------------------------------------------------------------
    def add_lease_event(self, lease_id: int, event: LeaseEventRow) -> None: ...
    def lease_events(self, lease_id: int) -> list[LeaseEventRow]: ...
    def leases_due(self, at: datetime) -> list[Lease]:
        """Active leases whose sprint ended at or before `at` (oldest first)."""
        ...

    def find_leases(self, where: LeaseFilter) -> list[Lease]: ...

    # --- availability ------------------------------------------------------------------
    def add_unavailability(
        self, rep_id: int, starts_at: datetime, ends_at: datetime, reason: str
    ) -> int: ...
    def unavailability(self, rep_id: int | None = None) -> list[Unavailability]: ...

    # === batch optimiser, capacity bidding, CRM export ===================================
    def cooling_pairs(self, since: datetime) -> set[tuple[int, int]]:
        """(account id, rep id) of leases revoked or expired at or after `since`."""
        ...

    def capacity_bids(self, quarter: str | None = None) -> list[CapacityBid]:
        """Bids of a quarter (all quarters when None), by quarter then rep id."""
        ...

    def put_capacity_bid(self, rep_id: int, quarter: str, leases: int, at: datetime) -> CapacityBid:
        """Insert or replace the rep's bid for the quarter (before the award)."""
        ...

    def record_capacity_award(
        self, rep_id: int, quarter: str, awarded: int, reason: str, at: datetime
    ) -> None: ...
    def awarded_capacities(self, quarter: str) -> dict[int, int]:
        """Rep id -> leases awarded for the quarter (reps without an award are absent)."""
        ...

    def rep_deals(self, won: Collection[str], lost: Collection[str]) -> list[RepDeal]:
        """Closed opportunities with a rep: won or lost, amount, cycle days."""
        ...

    def watermark(self, name: str) -> datetime | None: ...
    def set_watermark(self, name: str, at: datetime) -> None: ...
    def accounts_with_lease_changes(self, since: datetime, until: datetime) -> list[int]:
        """Accounts with a lease granted or ended in (since, until]."""
        ...
